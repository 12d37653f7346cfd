import * as iam from "aws-cdk-lib/aws-iam";
import type { Construct } from "constructs";
import { limitsTable } from "../../lib/resources.js";
import type { ServiceFunction } from "./service-function.js";
import { ServiceTable } from "./service-table.js";

export interface LimitsTableProps {
  readonly prefix: string;
  readonly retainData: boolean;
}

/** Organizations' default limits for the runaway guards; written by `npm run limits`, read by the guards. */
export class LimitsTable extends ServiceTable {
  constructor(scope: Construct, id: string, props: LimitsTableProps) {
    super(scope, id, { prefix: props.prefix, retainData: props.retainData, definition: limitsTable });
  }

  /** An organization's defaults are one GetItem by `organization_id`. */
  grantLimitsRead(fn: ServiceFunction): void {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ["dynamodb:GetItem"], resources: [this.tableArn] }));
    fn.setEnvironment("LIMITS_TABLE_NAME", this.tableName);
  }

  /**
   * The cleanup's duration guard reads every organization's defaults once a run (a Scan of this small table), and
   * records on an organization's item how far it rewrote its tasks' deadlines after a default changed (a conditional
   * UpdateItem of the cleanup's own attributes, lib/executions/limits-store.ts `dynamoDeadlineRewriteRecorder`).
   */
  grantLimitsList(fn: ServiceFunction): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ["dynamodb:Scan", "dynamodb:UpdateItem"], resources: [this.tableArn] }),
    );
    fn.setEnvironment("LIMITS_TABLE_NAME", this.tableName);
  }
}
