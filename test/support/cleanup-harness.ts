import type { SQSClient } from "@aws-sdk/client-sqs";
import { type CleanupReport, type CleanupSettings, runCleanup } from "../../lib/cleanup.js";
import { awsStopDependencies } from "../../lib/aws/stop-dependencies.js";
import { dynamoCleanupQueries } from "../../lib/executions/cleanup-queries.js";
import { dynamoOrganizationLimitsDirectory } from "../../lib/executions/limits-store.js";
import { sqsStopSignalPublisher } from "../../lib/signals/publisher.js";
import { dynamoWorkerExecutionUpdates } from "../../lib/worker/execution-updates.js";
import { createReferenceWorker, type ReferenceWorker } from "../../lib/worker/reference-worker.js";
import { ownerQueueSettings } from "../../infra/local/provision.js";
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
      workerQueueUrlPrefix: aws.resources.signal_channels.workers.url_prefix,
      environmentQueueUrlPrefix: aws.resources.signal_channels.environments.url_prefix,
    }),
    invokeStop: stopFunction.invoke,
    now: options.now ?? (() => new Date()),
    guards: { stop: stopCore(aws, options.sqs), organizationLimits: dynamoOrganizationLimitsDirectory(dynamoDb, aws.resources.tables.limits) },
  };
  return (): Promise<CleanupReport> => runCleanup(deps, { ...fastCleanupSettings, ...options.settings });
}

/** The stop core on this stack, wired as the functions wire it (lib/aws/stop-dependencies.ts). */
function stopCore(aws: LocalAws, sqs?: SQSClient) {
  const { workers, environments } = aws.resources.signal_channels;
  const config = { EXECUTIONS_TABLE_NAME: aws.resources.tables.executions, WORKER_QUEUE_URL_PREFIX: workers.url_prefix, ENVIRONMENT_QUEUE_URL_PREFIX: environments.url_prefix, SIGNAL_ACK_TIMEOUT_SECONDS: 60 };
  return awsStopDependencies(config, { dynamoDb: localDynamoDbClient(), sqs: sqs ?? localSqsClient() });
}

/** The reference worker on this stack; `openQueue()` it (or poll once) before stopping its tasks, as a worker does at start. */
export function referenceWorker(
  aws: LocalAws,
  workerId: string,
  options: { environmentId?: string; now?: () => Date; sqs?: SQSClient; heartbeatIntervalMs?: number; log?: (event: string, fields: Record<string, unknown>) => void } = {},
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
