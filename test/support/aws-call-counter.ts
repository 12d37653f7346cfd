import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";

export interface AwsCallCounter {
  /** Command names of every HTTP attempt sent, retries included, in order. */
  readonly calls: string[];
  reset(): void;
}

/**
 * Counts AWS round trips as the SDK sends them: a middleware in the deserialize step runs once
 * per attempt, below the retry middleware, so a retried call counts twice, as it costs twice.
 */
export function countAwsCalls(...clients: (DynamoDBClient | SQSClient)[]): AwsCallCounter {
  const calls: string[] = [];
  for (const client of clients) {
    (client as DynamoDBClient).middlewareStack.add(
      (next, context) => async (args) => {
        calls.push(String(context.commandName));
        return next(args);
      },
      { step: "deserialize", name: "awsCallCounter", priority: "low" },
    );
  }
  return { calls, reset: () => void calls.splice(0) };
}
