import { type DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { APIGatewayProxyResult, SQSBatchResponse } from "aws-lambda";
import { afterAll, beforeAll } from "vitest";
import type { BulkStopHandlerDependencies } from "../../functions/bulk-stop/app.js";
import { composeBulkStop } from "../../functions/bulk-stop/compose.js";
import { toApiGatewayProxyEvent } from "../../infra/local/api-gateway-event.js";
import { localLambdaContext } from "../../infra/local/lambda-context.js";
import { toSqsEvent } from "../../infra/local/queue-consumer.js";
import type { BulkStopView } from "../../lib/bulk-stop/view.js";
import { readBulkStopConfig } from "../../lib/config.js";
import { type AwsCallCounter, countAwsCalls } from "./aws-call-counter.js";
import { type ExecutionStreamHarness, startExecutionStream } from "./execution-stream-harness.js";
import {
  type LocalAws,
  localDynamoDbClient,
  localSqsClient,
  provisionIsolatedStack,
  putItem,
  storeApiKey,
} from "./local-aws.js";
import { rememberSecret } from "./secret-registry.js";

export interface BulkStopHarness {
  readonly counter: AwsCallCounter;
  readonly handler: ReturnType<typeof composeBulkStop>;
  http(event: ReturnType<typeof toApiGatewayProxyEvent>): Promise<APIGatewayProxyResult>;
  /**
   * Runs the jobs queue's messages through the real handler, as the SQS event source would, until the bulk stop is
   * done (or `until` says so); throws after `timeoutMs`.
   */
  runJobs(stopId: string, options?: { timeoutMs?: number; until?: () => Promise<boolean> }): Promise<void>;
}

/** The bulk stop function wired to the emulators by its own `composeBulkStop`, from a config naming this test's stack. */
export function bulkStopHarness(
  aws: LocalAws,
  options: {
    dynamoDb?: DynamoDBClient;
    sqs?: SQSClient;
    override?: (wired: BulkStopHandlerDependencies) => Partial<BulkStopHandlerDependencies>;
  } = {},
): BulkStopHarness {
  const dynamoDb = options.dynamoDb ?? localDynamoDbClient();
  const sqs = options.sqs ?? localSqsClient();
  const counter = countAwsCalls(dynamoDb, sqs);
  const config = readBulkStopConfig({
    EXECUTIONS_TABLE_NAME: aws.resources.tables.executions,
    API_KEYS_TABLE_NAME: aws.resources.tables.api_keys,
    BULK_STOPS_TABLE_NAME: aws.resources.tables.bulk_stops,
    BULK_STOP_JOBS_QUEUE_URL: aws.resources.queues.bulk_stop_jobs,
    WORKER_QUEUE_URL_PREFIX: aws.resources.signal_channels.workers.url_prefix,
    ENVIRONMENT_QUEUE_URL_PREFIX: aws.resources.signal_channels.environments.url_prefix,
    EVENTS_QUEUE_URL: aws.resources.queues.events,
  });
  const handler = composeBulkStop(config, { dynamoDb, sqs }, options.override);
  const http = async (event: ReturnType<typeof toApiGatewayProxyEvent>) =>
    (await handler(event, localLambdaContext("bulk-stop"))) as APIGatewayProxyResult;
  const driver = localSqsClient();
  return {
    counter,
    handler,
    http,
    async runJobs(stopId, { timeoutMs = 60_000, until } = {}) {
      const deadline = Date.now() + timeoutMs;
      const done =
        until ??
        (async () => {
          const { Item } = await aws.dynamoDb.send(
            new GetItemCommand({
              TableName: aws.resources.tables.bulk_stops,
              Key: { id: { S: stopId } },
              ConsistentRead: true,
            }),
          );
          return Item?.status?.S === "done";
        });
      while (!(await done())) {
        if (Date.now() > deadline) throw new Error(`bulk stop ${stopId} not done within ${timeoutMs} ms`);
        const { Messages = [] } = await driver.send(
          new ReceiveMessageCommand({
            QueueUrl: aws.resources.queues.bulk_stop_jobs,
            MaxNumberOfMessages: 1,
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ["All"],
          }),
        );
        for (const message of Messages) {
          const response = (await handler(
            toSqsEvent(message, "arn:aws:sqs:us-east-1:000000000000:bulk-stop-jobs", "us-east-1"),
            localLambdaContext("bulk-stop"),
          )) as SQSBatchResponse;
          if (response.batchItemFailures.length > 0) throw new Error(`bulk stop run of ${stopId} failed`);
          await driver.send(
            new DeleteMessageCommand({
              QueueUrl: aws.resources.queues.bulk_stop_jobs,
              ReceiptHandle: message.ReceiptHandle ?? "",
            }),
          );
        }
      }
    },
  };
}

/** `POST /v1/stops` as API Gateway hands it to the function. */
export function aBulkStopRequest(body: unknown, apiKey?: string, headers: [string, string][] = []) {
  rememberSecret(apiKey);
  return toApiGatewayProxyEvent({
    method: "POST",
    path: "/v1/stops",
    resource: "/v1/stops",
    pathParameters: {},
    rawHeaders: [
      ...(apiKey === undefined ? [] : [["x-api-key", apiKey] as [string, string]]),
      ["content-type", "application/json"],
      ...headers,
    ],
    body: typeof body === "string" ? body : JSON.stringify(body),
    stage: "test",
  });
}

/** `GET /v1/stops/{stop_id}`, or `DELETE /v1/stops/{stop_id}/hold`. */
export function aBulkStopLookup(stopId: string, apiKey: string | undefined, endHold = false) {
  rememberSecret(apiKey);
  return toApiGatewayProxyEvent({
    method: endHold ? "DELETE" : "GET",
    path: `/v1/stops/${encodeURIComponent(stopId)}${endHold ? "/hold" : ""}`,
    resource: endHold ? "/v1/stops/{stop_id}/hold" : "/v1/stops/{stop_id}",
    pathParameters: { stop_id: stopId },
    rawHeaders: apiKey === undefined ? [] : [["x-api-key", apiKey]],
    body: null,
    stage: "test",
  });
}

export function readView(result: APIGatewayProxyResult): BulkStopView {
  return JSON.parse(result.body) as BulkStopView;
}

export interface BulkStopStack {
  readonly aws: LocalAws;
  readonly stream: ExecutionStreamHarness;
  /** Stores the tasks, waits until the stream processor has indexed them, and answers their ids. */
  seed(tasks: readonly Record<string, unknown>[]): Promise<string[]>;
}

/**
 * Hooks for a bulk stop test file: fresh tables and queues, a key of `org-a` and one of `org-b`, and the stream
 * processor (which indexes the tasks a bulk stop finds, and applies the holds), stopped after the file.
 */
export function useBulkStopStack(keys: { readonly orgA: string; readonly orgB: string }): BulkStopStack {
  const state: { aws?: LocalAws; stream?: ExecutionStreamHarness } = {};
  beforeAll(async () => {
    state.aws = await provisionIsolatedStack();
    await storeApiKey(state.aws, { key: keys.orgA, organizationId: "org-a", keyId: "key-a" });
    await storeApiKey(state.aws, { key: keys.orgB, organizationId: "org-b", keyId: "key-b" });
    state.stream = await startExecutionStream(state.aws);
  });
  afterAll(async () => {
    await state.stream?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("useBulkStopStack: used before its beforeAll ran");
    return value;
  };
  return {
    get aws() {
      return started(state.aws);
    },
    get stream() {
      return started(state.stream);
    },
    async seed(tasks) {
      const aws = started(state.aws);
      for (const task of tasks) await putItem(aws.dynamoDb, aws.resources.tables.executions, task);
      await started(state.stream).settled();
      return tasks.map((task) => String(task.id));
    },
  };
}
