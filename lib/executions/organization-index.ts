import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  allOf,
  belongsToOrganization,
  conditionalUpdate,
  type ExpressionPart,
  inActiveState,
} from "../conditional-writes.js";
import { indexAttributes, organizationShardKey } from "./indexes.js";

/**
 * The `active-by-organization` index's keys (lib/resources.ts), kept by the stream processor: a running task enters
 * its organization's partition at the first write the stream shows of it, and leaves it when it stops (the stop's own
 * write) or another writer finishes it (here). Bookkeeping only (docs/storage-contract.md): nothing reads these
 * attributes as a field of the record.
 */
export interface OrganizationIndexWrites {
  /**
   * Enters a running task of `organizationId` into the index, with `since` as its start: true when this write entered
   * it, false when it already was in (or no longer runs, or changed organization meanwhile).
   */
  enter(task: {
    readonly taskId: string;
    /** Undefined for a task naming no organization tenancy can rely on: it enters a partition no caller names. */
    readonly organizationId: string | undefined;
    readonly since: string;
  }): Promise<boolean>;
  /** Takes a task that no longer runs out of the index: false when it was not in it, or runs again. */
  retire(taskId: string): Promise<boolean>;
}

const notIndexed: ExpressionPart = {
  expression: "attribute_not_exists(#org_shard)",
  names: { "#org_shard": indexAttributes.organizationShard },
  values: {},
};
const indexed: ExpressionPart = { ...notIndexed, expression: "attribute_exists(#org_shard)" };
const notInActiveState: ExpressionPart = { ...inActiveState, expression: `NOT (${inActiveState.expression})` };

export function dynamoOrganizationIndexWrites(client: DynamoDBClient, tableName: string): OrganizationIndexWrites {
  return {
    async enter({ taskId, organizationId, since }) {
      const result = await conditionalUpdate(client, {
        tableName,
        key: { id: { S: taskId } },
        condition:
          organizationId === undefined
            ? allOf(notIndexed, inActiveState)
            : allOf(notIndexed, belongsToOrganization(organizationId), inActiveState),
        update: "SET #org_shard = :org_shard, #org_since = :org_since",
        names: { "#org_since": indexAttributes.organizationSince },
        values: { ":org_shard": { S: organizationShardKey(organizationId ?? "", taskId) }, ":org_since": { S: since } },
      });
      return result.applied;
    },
    async retire(taskId) {
      const result = await conditionalUpdate(client, {
        tableName,
        key: { id: { S: taskId } },
        condition: allOf(indexed, notInActiveState),
        update: "REMOVE #org_shard, #org_since",
        names: { "#org_since": indexAttributes.organizationSince },
      });
      return result.applied;
    },
  };
}
