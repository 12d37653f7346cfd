import { type AttributeValue, type DynamoDBClient, QueryCommand } from "@aws-sdk/client-dynamodb";
import type { GlobalIndexDefinition } from "../lib/resources.js";

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
