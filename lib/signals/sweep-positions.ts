import { type DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { sweepPositionsTable } from "../resources.js";
import { formatTimestamp } from "../timestamp.js";
import type { SweepPositions } from "./queue-sweep.js";

const KEY = sweepPositionsTable.partitionKey.name;

/**
 * The sweep's resume position in this service's own `sweep-positions` table (lib/resources.ts):
 * one item per sweep (keyed by the name prefixes of the channels it sweeps), holding the last
 * queue name the previous run judged. Only the cleanup reads or writes it. Two runs at once (a manual invoke during the
 * scheduled one) can at worst judge some queues twice; neither skips any, since each resumes
 * after a name it read and judges in order from there.
 */
export function dynamoSweepPositions(
  client: DynamoDBClient,
  tableName: string,
  clock = () => new Date(),
): SweepPositions {
  return {
    async read(sweep) {
      const { Item } = await client.send(
        new GetItemCommand({ TableName: tableName, Key: { [KEY]: { S: sweep } }, ConsistentRead: true }),
      );
      return Item?.last_judged?.S;
    },

    async write(sweep, lastJudged) {
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            [KEY]: { S: sweep },
            last_judged: { S: lastJudged },
            updated_at: { S: formatTimestamp(clock()) },
          },
        }),
      );
    },
  };
}
