import { type AttributeValue, type DynamoDBClient, QueryCommand } from "@aws-sdk/client-dynamodb";
import { indexAttributes, organizationShardKeys } from "../executions/indexes.js";
import { executionIndexes } from "../resources.js";
import type { BulkStopScope } from "./scope.js";

/**
 * The running tasks of one organization that a scope selects, read from the `active-by-organization` index one
 * partition (shard) at a time: the key condition names the caller's organization, so no other organization's item
 * is ever read, and the start bounds are a range of the sort key (canonical instants). Never a Scan.
 */

export interface ScopedTaskPage {
  readonly taskIds: readonly string[];
  /** The key to go on from (JSON), or undefined at the shard's end. */
  readonly next?: string;
}

export interface ScopedTaskReader {
  /** One page of a shard, from `cursor` ("" for the first). */
  page(organizationId: string, shard: number, scope: BulkStopScope, cursor: string): Promise<ScopedTaskPage>;
  /** How many running tasks the scope selects now, across every shard. */
  count(organizationId: string, scope: BulkStopScope): Promise<number>;
}

/** Items evaluated per page: a page's stops then run together, and its progress is saved in one write. */
export const PAGE_SIZE = 100;

function scopeQuery(tableName: string, organizationId: string, shard: number, scope: BulkStopScope) {
  const index = executionIndexes.activeByOrganization;
  const keyBounds =
    scope.started_after !== undefined && scope.started_before !== undefined
      ? " AND #since BETWEEN :after AND :before"
      : scope.started_after !== undefined
        ? " AND #since >= :after"
        : scope.started_before !== undefined
          ? " AND #since <= :before"
          : "";
  const filters = [
    `#status IN (${scope.statuses.map((_, index) => `:status${index}`).join(", ")})`,
    ...(scope.agent_id === undefined ? [] : ["agent_id = :agent"]),
  ];
  const values: Record<string, AttributeValue> = {
    ":shard": { S: organizationShardKeys(organizationId)[shard] ?? "" },
    ...Object.fromEntries(scope.statuses.map((status, index) => [`:status${index}`, { S: status }])),
    ...(scope.agent_id === undefined ? {} : { ":agent": { S: scope.agent_id } }),
    ...(scope.started_after === undefined ? {} : { ":after": { S: scope.started_after } }),
    ...(scope.started_before === undefined ? {} : { ":before": { S: scope.started_before } }),
  };
  return {
    TableName: tableName,
    IndexName: index.indexName,
    KeyConditionExpression: `#shard = :shard${keyBounds}`,
    FilterExpression: filters.join(" AND "),
    ExpressionAttributeNames: {
      "#shard": indexAttributes.organizationShard,
      "#status": "status",
      ...(keyBounds ? { "#since": indexAttributes.organizationSince } : {}),
    },
    ExpressionAttributeValues: values,
  };
}

export function dynamoScopedTaskReader(client: DynamoDBClient, tableName: string): ScopedTaskReader {
  return {
    async page(organizationId, shard, scope, cursor) {
      const { Items = [], LastEvaluatedKey } = await client.send(
        new QueryCommand({
          ...scopeQuery(tableName, organizationId, shard, scope),
          Limit: PAGE_SIZE,
          ...(cursor === "" ? {} : { ExclusiveStartKey: JSON.parse(cursor) as Record<string, AttributeValue> }),
        }),
      );
      return {
        taskIds: Items.flatMap((item) => (item.id?.S ? [item.id.S] : [])),
        ...(LastEvaluatedKey ? { next: JSON.stringify(LastEvaluatedKey) } : {}),
      };
    },

    async count(organizationId, scope) {
      const perShard = await Promise.all(
        organizationShardKeys(organizationId).map(async (_, shard) => {
          let total = 0;
          let start: Record<string, AttributeValue> | undefined;
          do {
            const page = await client.send(
              new QueryCommand({
                ...scopeQuery(tableName, organizationId, shard, scope),
                Select: "COUNT",
                ...(start ? { ExclusiveStartKey: start } : {}),
              }),
            );
            total += page.Count ?? 0;
            start = page.LastEvaluatedKey;
          } while (start);
          return total;
        }),
      );
      return perShard.reduce((sum, count) => sum + count, 0);
    },
  };
}
