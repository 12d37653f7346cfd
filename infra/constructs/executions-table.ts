import * as iam from "aws-cdk-lib/aws-iam";
import type { Construct } from "constructs";
import { executionIndexes, executionsTable } from "../../lib/resources.js";
import type { ServiceFunction } from "./service-function.js";
import { ServiceTable } from "./service-table.js";

export interface ExecutionsTableProps {
  readonly prefix: string;
  readonly retainData: boolean;
}

/** The Agent Execution records. */
export class ExecutionsTable extends ServiceTable {
  constructor(scope: Construct, id: string, props: ExecutionsTableProps) {
    super(scope, id, { ...props, definition: executionsTable });
  }

  /**
   * A stop is one conditional UpdateItem; a refused condition returns the old item
   * (ReturnValuesOnConditionCheckFailure), so the function never needs GetItem here.
   * Written by hand because `table.grant()` would add index ARNs the function never touches.
   */
  grantStopWrite(fn: ServiceFunction): void {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ["dynamodb:UpdateItem"], resources: [this.tableArn] }));
    fn.setEnvironment("EXECUTIONS_TABLE_NAME", this.tableName);
  }

  /**
   * The cleanup finds its work by Query on the three sparse indexes (never a Scan of the table)
   * and moves each execution on with a conditional UpdateItem on the base table. Query is
   * granted on those index ARNs only, UpdateItem on the table only.
   */
  grantCleanup(fn: ServiceFunction): void {
    const { activeByOrganization: _bulkStopsOnly, ...cleanupIndexes } = executionIndexes;
    const indexArns = Object.values(cleanupIndexes).map((index) => `${this.tableArn}/index/${index.indexName}`);
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ["dynamodb:Query"], resources: indexArns }));
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ["dynamodb:UpdateItem"], resources: [this.tableArn] }));
    fn.setEnvironment("EXECUTIONS_TABLE_NAME", this.tableName);
  }

  /**
   * A bulk stop finds its tasks by Query on the `active-by-organization` index, in the caller's organization's
   * partitions only (the key condition; IAM cannot see it), and stops each with the stop's own conditional UpdateItem.
   */
  grantBulkStop(fn: ServiceFunction): void {
    const index = `${this.tableArn}/index/${executionIndexes.activeByOrganization.indexName}`;
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ["dynamodb:Query"], resources: [index] }));
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ["dynamodb:UpdateItem"], resources: [this.tableArn] }));
    fn.setEnvironment("EXECUTIONS_TABLE_NAME", this.tableName);
  }

  /** Reading a task is one GetItem by id on the base table; no index, no write. */
  grantTaskRead(fn: ServiceFunction): void {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ["dynamodb:GetItem"], resources: [this.tableArn] }));
    fn.setEnvironment("EXECUTIONS_TABLE_NAME", this.tableName);
  }

  /**
   * The stream processor reads the table's stream (granted by ExecutionStreamProcessing on the
   * stream's ARN), stops sub-executions with the stop's own conditional UpdateItem (and moves a
   * parent's cascade cursor the same way), and reads a newly written sub-execution's parent with
   * one GetItem. No index, no Query, no Scan.
   */
  grantCascade(fn: ServiceFunction): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ["dynamodb:UpdateItem", "dynamodb:GetItem"], resources: [this.tableArn] }),
    );
    fn.setEnvironment("EXECUTIONS_TABLE_NAME", this.tableName);
  }
}
