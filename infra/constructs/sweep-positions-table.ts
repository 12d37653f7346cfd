import * as iam from "aws-cdk-lib/aws-iam";
import type { Construct } from "constructs";
import { sweepPositionsTable } from "../../lib/resources.js";
import type { ServiceFunction } from "./service-function.js";
import { ServiceTable, type ServiceTableProps } from "./service-table.js";

/** Where the hourly sweep of idle signal queues resumes in each channel (lib/signals/sweep-positions.ts). */
export class SweepPositionsTable extends ServiceTable {
  constructor(scope: Construct, id: string, props: Omit<ServiceTableProps, "definition">) {
    super(scope, id, { ...props, definition: sweepPositionsTable });
  }

  /** A channel's position is one GetItem at the start of a sweep and one PutItem at its end. */
  grantSweepPositions(fn: ServiceFunction): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ["dynamodb:GetItem", "dynamodb:PutItem"], resources: [this.tableArn] }),
    );
    fn.setEnvironment("SWEEP_POSITIONS_TABLE_NAME", this.tableName);
  }
}
