import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { composeCleanup } from "../../functions/cleanup/compose.js";
import { localLambdaContext } from "../../infra/local/lambda-context.js";
import { ownerQueueSettings } from "../../infra/local/provision.js";
import type { CleanupReport } from "../../lib/cleanup.js";
import { readCleanupConfig } from "../../lib/config.js";
import { dynamoWorkerExecutionUpdates } from "../../lib/worker/execution-updates.js";
import { createReferenceWorker, type ReferenceWorker } from "../../lib/worker/reference-worker.js";
import { type LocalAws, localDynamoDbClient, localSqsClient } from "./local-aws.js";
import type { StopTaskHarness } from "./stop-task-harness.js";

/** The cleanup's settings a test may change, as the variables its config reads them from. */
export interface CleanupTestSettings {
  readonly signalAckTimeoutMs?: number;
  readonly signalMaxAttempts?: number;
  readonly maxItemsPerRun?: number;
}

/**
 * One run of the real cleanup handler, wired by the function's own `composeCleanup` on the
 * emulators, stopping through the stop handler's direct-invoke adapter. A test's cleanup re-sends
 * at once (acknowledgement time 0) unless it says otherwise.
 */
export function cleanupHarness(
  aws: LocalAws,
  stopFunction: StopTaskHarness,
  options: { now?: () => Date; sqs?: SQSClient; dynamoDb?: DynamoDBClient; settings?: CleanupTestSettings } = {},
) {
  const settings = { signalAckTimeoutMs: 0, signalMaxAttempts: 5, maxItemsPerRun: 1_000, ...options.settings };
  const config = readCleanupConfig({
    EXECUTIONS_TABLE_NAME: aws.resources.tables.executions,
    WORKER_QUEUE_URL_PREFIX: aws.resources.signal_channels.workers.url_prefix,
    ENVIRONMENT_QUEUE_URL_PREFIX: aws.resources.signal_channels.environments.url_prefix,
    STOP_FUNCTION_NAME: "stop-task (in this test)",
    LIMITS_TABLE_NAME: aws.resources.tables.limits,
    SWEEP_POSITIONS_TABLE_NAME: aws.resources.tables.sweep_positions,
    SIGNAL_ACK_TIMEOUT_SECONDS: String(settings.signalAckTimeoutMs / 1000),
    SIGNAL_MAX_ATTEMPTS: String(settings.signalMaxAttempts),
    CLEANUP_MAX_ITEMS_PER_RUN: String(settings.maxItemsPerRun),
  });
  const handler = composeCleanup(
    config,
    {
      dynamoDb: options.dynamoDb ?? localDynamoDbClient(),
      sqs: options.sqs ?? localSqsClient(),
      invokeStop: stopFunction.invoke,
    },
    options.now ? { now: options.now } : {},
  );
  return async (): Promise<CleanupReport> => (await handler({}, localLambdaContext("cleanup"))) as CleanupReport;
}

/**
 * The reference worker on this stack; `openQueue()` it (or poll once) before stopping its tasks, as a worker does at
 * start.
 */
export function referenceWorker(
  aws: LocalAws,
  workerId: string,
  options: {
    environmentId?: string;
    now?: () => Date;
    sqs?: SQSClient;
    heartbeatIntervalMs?: number;
    log?: (event: string, fields: Record<string, unknown>) => void;
  } = {},
): ReferenceWorker {
  const { workers, environments } = aws.resources.signal_channels;
  return createReferenceWorker({
    workerId,
    sqs: options.sqs ?? localSqsClient(),
    signalQueue: ownerQueueSettings(options.environmentId ? environments : workers),
    environmentId: options.environmentId,
    updates: dynamoWorkerExecutionUpdates(localDynamoDbClient(), aws.resources.tables.executions, options.now),
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 50,
    ...(options.log ? { log: options.log } : {}),
  });
}
