import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { createApiKeyAuthorizer, dynamoApiKeyLookup } from "../../lib/auth/api-keys.js";
import { awsStopDependencies } from "../../lib/aws/stop-dependencies.js";
import type { BulkStopCompletedEvent } from "../../lib/bulk-stop/events.js";
import { dynamoScopedTaskReader } from "../../lib/bulk-stop/scoped-tasks.js";
import { dynamoBulkStopStore } from "../../lib/bulk-stop/store.js";
import type { BulkStopConfig } from "../../lib/config.js";
import { serviceEventPublisher } from "../../lib/events/publishers.js";
import { createLogger, createMetrics } from "../../lib/observability.js";
import { type BulkStopHandlerDependencies, createBulkStopHandler } from "./app.js";

export interface BulkStopClients {
  readonly dynamoDb: DynamoDBClient;
  readonly sqs: SQSClient;
  /** Only AWS has a bus: with EVENTS_QUEUE_URL instead (the local stack) none is needed. */
  readonly eventBridge?: EventBridgeClient;
  readonly region?: string;
}

/**
 * The bulk stop function, wired: the key check, the bulk-stops table, the organization index's reader, the stop core
 * exactly as the stop function's, its jobs queue and the event publisher. handler.ts, the local stack and the tests
 * all call this; `overrides` may wrap what it wired.
 */
export function composeBulkStop(
  config: BulkStopConfig,
  clients: BulkStopClients,
  overrides: (wired: BulkStopHandlerDependencies) => Partial<BulkStopHandlerDependencies> = () => ({}),
) {
  const wired = bulkStopDependencies(config, clients);
  return createBulkStopHandler({ ...wired, ...overrides(wired) });
}

function bulkStopDependencies(config: BulkStopConfig, clients: BulkStopClients): BulkStopHandlerDependencies {
  const publishEvents = serviceEventPublisher<BulkStopCompletedEvent>(config, clients);
  return {
    authorize: createApiKeyAuthorizer({
      lookup: dynamoApiKeyLookup(clients.dynamoDb, config.API_KEYS_TABLE_NAME),
      cacheTtlMs: config.API_KEY_CACHE_TTL_SECONDS * 1000,
    }),
    store: dynamoBulkStopStore(clients.dynamoDb, config.BULK_STOPS_TABLE_NAME),
    tasks: dynamoScopedTaskReader(clients.dynamoDb, config.EXECUTIONS_TABLE_NAME),
    stop: awsStopDependencies(config, clients),
    publishEvents,
    enqueueRun: async (job, delaySeconds) => {
      await clients.sqs.send(
        new SendMessageCommand({
          QueueUrl: config.BULK_STOP_JOBS_QUEUE_URL,
          MessageBody: JSON.stringify(job),
          ...(delaySeconds ? { DelaySeconds: delaySeconds } : {}),
        }),
      );
    },
    now: () => new Date(),
    logger: createLogger("bulk-stop"),
    metrics: createMetrics("bulk-stop"),
  };
}
