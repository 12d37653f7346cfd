import { type DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { allOf, conditionalUpdate, cursorStillAt, isStopped } from "../conditional-writes.js";
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

    advanceCursor: async (parentId, seen, to) =>
      (
        await conditionalUpdate(client, {
          tableName,
          key: { id: { S: parentId } },
          // Only a stopped parent cascades; the cursor works as a version, so one delivery moves it once.
          condition: allOf(isStopped, cursorStillAt(CASCADE_CURSOR, seen)),
          update: "SET #cursor = :to",
          names: { "#cursor": CASCADE_CURSOR },
          values: { ":to": { N: String(to) } },
        })
      ).applied,
  };
}
