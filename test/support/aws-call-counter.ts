import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import type { LambdaClient } from "@aws-sdk/client-lambda";
import type { SQSClient } from "@aws-sdk/client-sqs";

/** One request as the SDK sent it: which client, which command, and its input (what IAM decides on). */
export interface RecordedRequest {
  /** The client's name, e.g. `DynamoDBClient`, `SQSClient`, `EventBridgeClient`, `LambdaClient`. */
  readonly client: string;
  /** The command's name, e.g. `UpdateItemCommand`. */
  readonly command: string;
  readonly input: Readonly<Record<string, unknown>>;
}

export interface AwsCallCounter {
  /** Command names of every HTTP attempt sent, retries included, in order. */
  readonly calls: string[];
  /**
   * Every request sent, retries included, in order, with its client and input: what
   * test/support/iam-requests.ts turns into the IAM request a deployed role must allow.
   */
  readonly requests: RecordedRequest[];
  /**
   * Items DynamoDB read for the Queries and Scans answered so far (their `ScannedCount`: what a
   * read costs, whether a filter kept the items or not), of one table when it is named.
   */
  itemsRead(tableName?: string): number;
  reset(): void;
}

/** The clients the components use: each has the same middleware stack. */
export type AwsClient = DynamoDBClient | SQSClient | EventBridgeClient | LambdaClient;

/**
 * Counts AWS round trips as the SDK sends them: a middleware in the deserialize step runs once
 * per attempt, below the retry middleware, so a retried call counts twice, as it costs twice.
 * The same middleware keeps each request's client and input, for the IAM proof of issue 26.
 * A second one, in the initialize step, sees each call's parsed answer once, for the items read.
 */
export function countAwsCalls(...clients: AwsClient[]): AwsCallCounter {
  const calls: string[] = [];
  const requests: RecordedRequest[] = [];
  const itemsRead: { readonly tableName: string; readonly count: number }[] = [];
  for (const client of clients) {
    const stack = (client as DynamoDBClient).middlewareStack;
    stack.add(
      (next, context) => async (args) => {
        calls.push(String(context.commandName));
        requests.push({
          client: String(context.clientName),
          command: String(context.commandName),
          input: { ...(args.input as Record<string, unknown>) },
        });
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
    requests,
    itemsRead: (tableName) =>
      itemsRead
        .filter((read) => tableName === undefined || read.tableName === tableName)
        .reduce((sum, read) => sum + read.count, 0),
    reset: () => {
      calls.splice(0);
      requests.splice(0);
      itemsRead.splice(0);
    },
  };
}
