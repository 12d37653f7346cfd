import * as iam from "aws-cdk-lib/aws-iam";
import type { Construct } from "constructs";
import { bulkStopsTable } from "../../lib/resources.js";
import type { ServiceFunction } from "./service-function.js";
import { ServiceTable, type ServiceTableProps } from "./service-table.js";

const holdsIndex = bulkStopsTable.globalSecondaryIndexes[0].indexName;

/** The bulk stops: scope, progress, hold, and the Idempotency-Keys that made them (lib/bulk-stop/store.ts). */
export class BulkStopsTable extends ServiceTable {
  constructor(scope: Construct, id: string, props: Omit<ServiceTableProps, "definition">) {
    super(scope, id, { ...props, definition: bulkStopsTable });
  }

  /**
   * The bulk stop function: reads a bulk stop and a key by GetItem, saves a new one with its key in one transaction
   * (TransactWriteItems is authorized as the PutItem of each item), or alone by PutItem, and moves its progress and
   * its hold with conditional UpdateItems. No Query, no Scan.
   */
  grantBulkStops(fn: ServiceFunction): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
        resources: [this.tableArn],
      }),
    );
    fn.setEnvironment("BULK_STOPS_TABLE_NAME", this.tableName);
  }

  /** The stream processor: the holds in force of a task's organization (Query on the holds index), and one ADD per held task. */
  grantHolds(fn: ServiceFunction): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ["dynamodb:Query"], resources: [`${this.tableArn}/index/${holdsIndex}`] }),
    );
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ["dynamodb:UpdateItem"], resources: [this.tableArn] }));
    fn.setEnvironment("BULK_STOPS_TABLE_NAME", this.tableName);
  }
}
