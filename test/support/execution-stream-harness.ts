import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { inject } from "vitest";
import type { ExecutionStreamHandlerDependencies } from "../../functions/execution-stream/app.js";
import { composeExecutionStream } from "../../functions/execution-stream/compose.js";
import { startLocalExecutionStream } from "../../infra/local/execution-stream.js";
import type { StreamHandler, StreamPoller, StreamPollerOptions } from "../../infra/local/stream-poller.js";
import { readExecutionStreamConfig } from "../../lib/config.js";
import { type LocalAws, localDynamoDbClient, localSqsClient } from "./local-aws.js";

export interface ExecutionStreamHarness {
  readonly poller: StreamPoller;
  /** The sequence number of every record the processor reported failed so far (each a retry, or worse). */
  readonly failedRecords: string[];
  /** Every record written so far (and whatever the processor wrote in turn) has been handled. */
  settled(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The stream processor of `npm start` for this test's table: the real handler, wired by its
 * own `composeExecutionStream` from a config naming this test's table and queues, fed by the
 * local poller over DynamoDB Local's stream. `dynamoDb`, `sqs` or any dependency may be swapped
 * for one that fails, to inject a fault.
 */
export async function startExecutionStream(
  aws: LocalAws,
  options: {
    dynamoDb?: DynamoDBClient;
    sqs?: SQSClient;
    childrenPerRecord?: number;
    override?: (deps: ExecutionStreamHandlerDependencies) => Partial<ExecutionStreamHandlerDependencies>;
    poller?: Pick<StreamPollerOptions, "settings" | "pollIntervalMs">;
    /** Wraps the real handler, e.g. to make an invocation fail after its work (a timeout, a crash). */
    wrapHandler?: (handler: StreamHandler) => StreamHandler;
  } = {},
): Promise<ExecutionStreamHarness> {
  const config = readExecutionStreamConfig({
    EXECUTIONS_TABLE_NAME: aws.resources.tables.executions,
    LIMITS_TABLE_NAME: aws.resources.tables.limits,
    BULK_STOPS_TABLE_NAME: aws.resources.tables.bulk_stops,
    WORKER_QUEUE_URL_PREFIX: aws.resources.signal_channels.workers.url_prefix,
    ENVIRONMENT_QUEUE_URL_PREFIX: aws.resources.signal_channels.environments.url_prefix,
    EVENTS_QUEUE_URL: aws.resources.queues.events,
    ...(options.childrenPerRecord ? { CASCADE_CHILDREN_PER_RECORD: String(options.childrenPerRecord) } : {}),
  });
  const handler = composeExecutionStream(
    config,
    { dynamoDb: options.dynamoDb ?? localDynamoDbClient(), sqs: options.sqs ?? localSqsClient() },
    options.override,
  );
  const failedRecords: string[] = [];
  const watched: StreamHandler = async (event, context) => {
    const response = await (handler as StreamHandler)(event, context);
    for (const failure of response?.batchItemFailures ?? []) failedRecords.push(failure.itemIdentifier);
    return response;
  };
  const poller = await startLocalExecutionStream(
    {
      region: "us-east-1",
      dynamodbEndpoint: inject("dynamoDbEndpoint"),
      sqsEndpoint: inject("sqsEndpoint"),
      executionsTable: aws.resources.tables.executions,
      failureQueueUrl: aws.resources.queues.execution_stream_failures,
    },
    (options.wrapHandler ?? ((unwrapped) => unwrapped))(watched),
    { pollIntervalMs: 20, ...options.poller },
  );
  return { poller, failedRecords, settled: (timeoutMs) => poller.settled(timeoutMs), stop: () => poller.stop() };
}
