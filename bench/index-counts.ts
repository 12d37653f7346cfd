import { type AttributeValue, type DynamoDBClient, QueryCommand } from "@aws-sdk/client-dynamodb";
import { organizationShardKeys } from "../lib/executions/indexes.js";
import { executionIndexes, type GlobalIndexDefinition } from "../lib/resources.js";

/** Items in some partitions of a sparse index, by Select COUNT: the bench's own reads, never counted in a run. */
export async function countIndexItems(
  dynamoDb: DynamoDBClient,
  tableName: string,
  index: GlobalIndexDefinition,
  partitions: readonly string[],
): Promise<number> {
  let total = 0;
  for (const partition of partitions) {
    let page: Record<string, AttributeValue> | undefined;
    do {
      const { Count = 0, LastEvaluatedKey } = await dynamoDb.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: index.indexName,
          KeyConditionExpression: "#partition = :partition",
          ExpressionAttributeNames: { "#partition": index.partitionKey.name },
          ExpressionAttributeValues: { ":partition": { S: partition } },
          Select: "COUNT",
          ...(page ? { ExclusiveStartKey: page } : {}),
        }),
      );
      total += Count;
      page = LastEvaluatedKey;
    } while (page);
  }
  return total;
}

/** Items in one organization's `active-by-organization` partitions: the bench's own reads, not counted. */
export function countOrganizationIndexed(
  dynamoDb: DynamoDBClient,
  tableName: string,
  organizationId: string,
): Promise<number> {
  return countIndexItems(
    dynamoDb,
    tableName,
    executionIndexes.activeByOrganization,
    organizationShardKeys(organizationId),
  );
}

/**
 * Waits until each organization has at least its count of running tasks in `active-by-organization`: the stream
 * processor has indexed what was seeded, so that its backlog does not run beside what is measured next.
 */
export async function untilOrganizationsIndexed(
  dynamoDb: DynamoDBClient,
  tableName: string,
  expected: Readonly<Record<string, number>>,
  timeoutMs = 15 * 60_000,
): Promise<void> {
  const started = Date.now();
  for (;;) {
    const counts: Record<string, number> = {};
    for (const organizationId of Object.keys(expected))
      counts[organizationId] = await countOrganizationIndexed(dynamoDb, tableName, organizationId);
    if (Object.entries(expected).every(([organizationId, count]) => (counts[organizationId] ?? 0) >= count)) return;
    if (Date.now() - started > timeoutMs)
      throw new Error(`indexed ${JSON.stringify(counts)} of ${JSON.stringify(expected)} in ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
