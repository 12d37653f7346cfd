import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { APIGatewayProxyResult } from "aws-lambda";
import type { StopTaskEvent } from "../../functions/stop-task/app.js";
import { composeStopTask } from "../../functions/stop-task/compose.js";
import { readStopTaskConfig } from "../../lib/config.js";
import type { StopTaskInvocationResult } from "../../lib/stop-task-invocation.js";
import { type AwsCallCounter, countAwsCalls } from "./aws-call-counter.js";
import { aLambdaContext } from "./factories.js";
import { type LocalAws, localDynamoDbClient, localSqsClient } from "./local-aws.js";

export interface StopTaskHarness {
  readonly counter: AwsCallCounter;
  readonly handler: ReturnType<typeof composeStopTask>;
  http(event: StopTaskEvent): Promise<APIGatewayProxyResult>;
  invoke(event: Record<string, unknown>): Promise<StopTaskInvocationResult>;
}

/**
 * The real stop handler wired to the emulators by the function's own wiring
 * (`composeStopTask`, from a config naming this test's tables and queues), with clients of
 * its own (so the counter sees only the handler's calls). `sqs` or `dynamoDb` may be swapped for
 * a client that fails; `now` and the acknowledgement timeout for fixed values.
 */
export function stopTaskHarness(
  aws: LocalAws,
  options: { sqs?: SQSClient; dynamoDb?: DynamoDBClient; now?: () => Date; signalAckTimeoutMs?: number } = {},
): StopTaskHarness {
  const sqs = options.sqs ?? localSqsClient();
  const dynamoDb = options.dynamoDb ?? localDynamoDbClient();
  const counter = countAwsCalls(dynamoDb, sqs);
  const config = readStopTaskConfig({
    EXECUTIONS_TABLE_NAME: aws.resources.tables.executions,
    API_KEYS_TABLE_NAME: aws.resources.tables.api_keys,
    WORKER_QUEUE_URL_PREFIX: aws.resources.signal_channels.workers.url_prefix,
    ENVIRONMENT_QUEUE_URL_PREFIX: aws.resources.signal_channels.environments.url_prefix,
  });
  const handler = composeStopTask(
    config,
    { dynamoDb, sqs },
    {
      ...(options.now ? { now: options.now } : {}),
      ...(options.signalAckTimeoutMs !== undefined ? { signalAckTimeoutMs: options.signalAckTimeoutMs } : {}),
    },
  );
  return {
    counter,
    handler,
    http: async (event) => (await handler(event, aLambdaContext())) as APIGatewayProxyResult,
    invoke: async (event) => (await handler(event, aLambdaContext())) as StopTaskInvocationResult,
  };
}
