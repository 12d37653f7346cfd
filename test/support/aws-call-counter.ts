import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";

export interface AwsCallCounter {
  /** Command names of every HTTP attempt sent, retries included, in order. */
  readonly calls: string[];
  /**
   * Items DynamoDB read for the Queries and Scans answered so far (their `ScannedCount`: what a
   * read costs, whether a filter kept the items or not), of one table when it is named.
   */
  itemsRead(tableName?: string): number;
  reset(): void;
}

/**
 * Counts AWS round trips as the SDK sends them: a middleware in the deserialize step runs once
 * per attempt, below the retry middleware, so a retried call counts twice, as it costs twice.
 * A second one, in the initialize step, sees each call's parsed answer once, for the items read.
 */
export function countAwsCalls(...clients: (DynamoDBClient | SQSClient)[]): AwsCallCounter {
  const calls: string[] = [];
  const itemsRead: { readonly tableName: string; readonly count: number }[] = [];
  for (const client of clients) {
    const stack = (client as DynamoDBClient).middlewareStack;
    stack.add(
      (next, context) => async (args) => {
        calls.push(String(context.commandName));
        return next(args);
      },
      { step: "deserialize", name: "awsCallCounter", priority: "low" },
    );
    stack.add(
      (next) => async (args) => {
        const result = await next(args);
        const scanned = (result.output as { ScannedCount?: unknown } | undefined)?.ScannedCount;
        const { TableName } = args.input as { TableName?: unknown };
        if (typeof scanned === "number") itemsRead.push({ tableName: String(TableName), count: scanned });
        return result;
      },
      { step: "initialize", name: "awsItemsReadCounter" },
    );
  }
  return {
    calls,
    itemsRead: (tableName) =>
      itemsRead
        .filter((read) => tableName === undefined || read.tableName === tableName)
        .reduce((sum, read) => sum + read.count, 0),
    reset: () => {
      calls.splice(0);
      itemsRead.splice(0);
    },
  };
}
