import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { APIGatewayProxyResult } from "aws-lambda";
import { createStopTaskHandler, type StopTaskEvent } from "../../functions/stop-task/app.js";
import { createApiKeyAuthorizer, dynamoApiKeyLookup } from "../../lib/auth/api-keys.js";
import { dynamoExecutionRepository } from "../../lib/executions/repository.js";
import { createLogger, createMetrics } from "../../lib/observability.js";
import { sqsStopSignalPublisher } from "../../lib/signals/publisher.js";
import type { StopTaskInvocationResult } from "../../lib/stop-task-invocation.js";
import { type AwsCallCounter, countAwsCalls } from "./aws-call-counter.js";
import { aLambdaContext } from "./factories.js";
import { type LocalAws, localDynamoDbClient, localSqsClient } from "./local-aws.js";

export interface StopTaskHarness {
  readonly counter: AwsCallCounter;
  readonly handler: ReturnType<typeof createStopTaskHandler>;
  http(event: StopTaskEvent): Promise<APIGatewayProxyResult>;
  invoke(event: Record<string, unknown>): Promise<StopTaskInvocationResult>;
}

/**
 * The real stop handler wired to the emulators, as the composition root wires it in Lambda,
 * with clients of its own (so the counter sees only the handler's calls). `sqs` or `dynamoDb`
 * may be swapped for a client that fails.
 */
export function stopTaskHarness(
  aws: LocalAws,
  options: { sqs?: SQSClient; dynamoDb?: DynamoDBClient; now?: () => Date; signalAckTimeoutMs?: number } = {},
): StopTaskHarness {
  const sqs = options.sqs ?? localSqsClient();
  const dynamoDb = options.dynamoDb ?? localDynamoDbClient();
  const counter = countAwsCalls(dynamoDb, sqs);
  const handler = createStopTaskHandler({
    authorize: createApiKeyAuthorizer({
      lookup: dynamoApiKeyLookup(dynamoDb, aws.resources.tables.api_keys),
      cacheTtlMs: 60_000,
    }),
    executions: dynamoExecutionRepository(dynamoDb, aws.resources.tables.executions),
    publishStopSignal: sqsStopSignalPublisher(sqs, {
      stopSignalQueueUrl: aws.resources.queues.stop_signals,
      assetCommandQueueUrl: aws.resources.queues.asset_commands,
    }),
    now: options.now ?? (() => new Date()),
    signalAckTimeoutMs: options.signalAckTimeoutMs,
    logger: createLogger(),
    metrics: createMetrics(),
  });
  return {
    counter,
    handler,
    http: async (event) => (await handler(event, aLambdaContext())) as APIGatewayProxyResult,
    invoke: async (event) => (await handler(event, aLambdaContext())) as StopTaskInvocationResult,
  };
}
