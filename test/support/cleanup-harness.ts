import type { SQSClient } from "@aws-sdk/client-sqs";
import { type CleanupReport, type CleanupSettings, runCleanup } from "../../lib/cleanup.js";
import { dynamoCleanupQueries } from "../../lib/executions/cleanup-queries.js";
import { sqsStopSignalPublisher } from "../../lib/signals/publisher.js";
import { dynamoWorkerExecutionUpdates } from "../../lib/worker/execution-updates.js";
import { createReferenceWorker, type ReferenceWorker } from "../../lib/worker/reference-worker.js";
import { type LocalAws, localDynamoDbClient, localSqsClient } from "./local-aws.js";
import type { StopTaskHarness } from "./stop-task-harness.js";

export const fastCleanupSettings: CleanupSettings = {
  signalAckTimeoutMs: 0,
  signalMaxAttempts: 5,
  staleHeartbeatMs: 5 * 60_000,
  maxExecutionMs: 6 * 60 * 60_000,
  maxItemsPerRun: 1_000,
  timeBudgetMs: 60_000,
};

/** The cleanup wired to the emulators, stopping through the stop handler's direct-invoke adapter. */
export function cleanupHarness(
  aws: LocalAws,
  stopFunction: StopTaskHarness,
  options: { now?: () => Date; sqs?: SQSClient; settings?: Partial<CleanupSettings> } = {},
) {
  const dynamoDb = localDynamoDbClient();
  const deps = {
    queries: dynamoCleanupQueries(dynamoDb, aws.resources.tables.executions),
    publishStopSignal: sqsStopSignalPublisher(options.sqs ?? localSqsClient(), {
      stopSignalQueueUrl: aws.resources.queues.stop_signals,
      assetCommandQueueUrl: aws.resources.queues.asset_commands,
    }),
    invokeStop: stopFunction.invoke,
    now: options.now ?? (() => new Date()),
  };
  return (): Promise<CleanupReport> => runCleanup(deps, { ...fastCleanupSettings, ...options.settings });
}

export function referenceWorker(aws: LocalAws, workerId: string, options: { environmentId?: string; now?: () => Date } = {}): ReferenceWorker {
  return createReferenceWorker({
    workerId,
    sqs: localSqsClient(),
    queueUrl: options.environmentId ? aws.resources.queues.asset_commands : aws.resources.queues.stop_signals,
    environmentId: options.environmentId,
    updates: dynamoWorkerExecutionUpdates(localDynamoDbClient(), aws.resources.tables.executions, options.now),
    heartbeatIntervalMs: 50,
  });
}
