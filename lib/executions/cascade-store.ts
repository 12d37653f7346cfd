import { type DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { updateIfCondition } from "../aws/conditional-write.js";
import { type ExecutionImage, executionImageAttributes, readExecutionImage } from "../stream/execution-change.js";
import { CASCADE_CURSOR } from "./repository.js";

/** What the cascade reads and writes besides the stops themselves (those go through the stop core). */
export interface CascadeStore {
  /** A sub-execution's parent, read consistently (a stop written a moment ago is seen), its few fields only. */
  findParent(parentId: string): Promise<ExecutionImage | undefined>;
  /**
   * Records that the cascade has handled the parent's `sub_executions` up to `to`. Conditional on
   * the cursor the record saw (`seen`; 0 when it had none): false when another delivery of the
   * same record moved it first.
   */
  advanceCursor(parentId: string, seen: number, to: number): Promise<boolean>;
}

export function dynamoCascadeStore(client: DynamoDBClient, tableName: string): CascadeStore {
  const projectionNames = Object.fromEntries(executionImageAttributes.map((name, index) => [`#a${index}`, name]));
  return {
    async findParent(parentId) {
      const { Item } = await client.send(
        new GetItemCommand({
          TableName: tableName,
          Key: { id: { S: parentId } },
          ConsistentRead: true,
          ProjectionExpression: Object.keys(projectionNames).join(", "),
          ExpressionAttributeNames: projectionNames,
        }),
      );
      return Item ? readExecutionImage(parentId, Item) : undefined;
    },

    advanceCursor: (parentId, seen, to) =>
      updateIfCondition(client, {
        TableName: tableName,
        Key: { id: { S: parentId } },
        // Only a stopped parent cascades; the cursor works as a version, so one delivery moves it once.
        ConditionExpression: `#status = :stopped AND ${seen === 0 ? "(attribute_not_exists(#cursor) OR #cursor = :seen)" : "#cursor = :seen"}`,
        UpdateExpression: "SET #cursor = :to",
        ExpressionAttributeNames: { "#status": "status", "#cursor": CASCADE_CURSOR },
        ExpressionAttributeValues: { ":stopped": { S: "stopped" }, ":seen": { N: String(seen) }, ":to": { N: String(to) } },
      }),
  };
}
