import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { awsStopDependencies } from "../../lib/aws/stop-dependencies.js";
import type { CleanupDependencies, CleanupSettings } from "../../lib/cleanup.js";
import type { CleanupConfig } from "../../lib/config.js";
import { dynamoCleanupQueries } from "../../lib/executions/cleanup-queries.js";
import { dynamoDeadlineRewriteRecorder, dynamoOrganizationLimitsDirectory } from "../../lib/executions/limits-store.js";
import { createLogger, createMetrics } from "../../lib/observability.js";
import { signalChannels } from "../../lib/resources.js";
import { sqsStopSignalPublisher } from "../../lib/signals/publisher.js";
import { namePrefixOfUrlPrefix } from "../../lib/signals/queue-names.js";
import {
  SWEEP_MAX_QUEUES_PER_RUN,
  type SweepSettings,
  sqsSignalQueueInventory,
} from "../../lib/signals/queue-sweep.js";
import { dynamoSweepPositions } from "../../lib/signals/sweep-positions.js";
import { type CleanupHandlerDependencies, createCleanupHandler } from "./app.js";

export interface CleanupClients {
  readonly dynamoDb: DynamoDBClient;
  readonly sqs: SQSClient;
  /** The stop function's direct-invoke contract: Lambda's Invoke in AWS, its handler in-process locally. */
  readonly invokeStop: CleanupDependencies["invokeStop"];
}

/**
 * The cleanup function, wired: the one place its dependencies are built from a config and its
 * clients. handler.ts calls it; so do the local stack's timer and the tests, each with its own
 * config (settings come from the same variables) and clients. `overrides` replaces single
 * dependencies, such as the clock.
 */
export function composeCleanup(
  config: CleanupConfig,
  clients: CleanupClients,
  overrides: Partial<CleanupHandlerDependencies> = {},
) {
  return createCleanupHandler({
    queries: dynamoCleanupQueries(clients.dynamoDb, config.EXECUTIONS_TABLE_NAME),
    publishStopSignal: sqsStopSignalPublisher(clients.sqs, {
      workerQueueUrlPrefix: config.WORKER_QUEUE_URL_PREFIX,
      environmentQueueUrlPrefix: config.ENVIRONMENT_QUEUE_URL_PREFIX,
    }),
    invokeStop: clients.invokeStop,
    now: () => new Date(),
    // The duration guard stops through the core in-process, as the stream's guards do (lib/cleanup.ts says why).
    guards: {
      stop: awsStopDependencies(config, clients),
      organizationLimits: dynamoOrganizationLimitsDirectory(clients.dynamoDb, config.LIMITS_TABLE_NAME),
      recordDeadlineRewrite: dynamoDeadlineRewriteRecorder(clients.dynamoDb, config.LIMITS_TABLE_NAME),
    },
    settings: cleanupSettings(config),
    sweep: {
      inventory: sqsSignalQueueInventory(clients.sqs),
      positions: dynamoSweepPositions(clients.dynamoDb, config.SWEEP_POSITIONS_TABLE_NAME),
      namePrefixes: [config.WORKER_QUEUE_URL_PREFIX, config.ENVIRONMENT_QUEUE_URL_PREFIX].map(namePrefixOfUrlPrefix),
      settings: sweepSettings(config),
    },
    logger: createLogger("cleanup"),
    metrics: createMetrics("cleanup"),
    ...overrides,
  });
}

function cleanupSettings(config: CleanupConfig): Omit<CleanupSettings, "timeBudgetMs"> {
  return {
    signalAckTimeoutMs: config.SIGNAL_ACK_TIMEOUT_SECONDS * 1000,
    signalMaxAttempts: config.SIGNAL_MAX_ATTEMPTS,
    staleHeartbeatMs: config.STALE_HEARTBEAT_SECONDS * 1000,
    maxExecutionMs: config.MAX_EXECUTION_SECONDS * 1000,
    maxItemsPerRun: config.CLEANUP_MAX_ITEMS_PER_RUN,
  };
}

function sweepSettings(config: CleanupConfig): Omit<SweepSettings, "timeBudgetMs"> {
  return {
    idleMs: (config.SIGNAL_QUEUE_IDLE_SECONDS ?? signalChannels.workers.idleBeforeDeleteSeconds) * 1000,
    maxQueuesPerRun: SWEEP_MAX_QUEUES_PER_RUN,
  };
}
