/** Composition root of the cleanup function: config once, clients once per container. */
import { LambdaClient } from "@aws-sdk/client-lambda";
import { createDynamoDbClient, createSqsClient } from "../../lib/aws/clients.js";
import { awsStopDependencies } from "../../lib/aws/stop-dependencies.js";
import { lambdaStopInvoker } from "../../lib/aws/stop-invoker.js";
import { awsClientOptions, readCleanupConfig } from "../../lib/config.js";
import { dynamoCleanupQueries } from "../../lib/executions/cleanup-queries.js";
import { dynamoOrganizationLimitsDirectory } from "../../lib/executions/limits-store.js";
import { createLogger, createMetrics } from "../../lib/observability.js";
import { sqsStopSignalPublisher } from "../../lib/signals/publisher.js";
import { namePrefixOfUrlPrefix } from "../../lib/signals/queue-names.js";
import { sqsSignalQueueInventory } from "../../lib/signals/queue-sweep.js";
import { cleanupSettingsFromConfig, createCleanupHandler, sweepSettingsFromConfig } from "./app.js";

const config = readCleanupConfig();
const clientOptions = awsClientOptions(config);
const dynamoDb = createDynamoDbClient({ ...clientOptions, endpoint: config.DYNAMODB_ENDPOINT });
const sqs = createSqsClient({ ...clientOptions, endpoint: config.SQS_ENDPOINT });
// One attempt, bounded by the stop function's own 10 s timeout: a retried stop would only find the
// execution stopped, and the next run (a minute later) retries whatever this one could not do.
const lambda = new LambdaClient({ maxAttempts: 1, requestHandler: { requestTimeout: 12_000, throwOnRequestTimeout: true } });

export const handler = createCleanupHandler({
  queries: dynamoCleanupQueries(dynamoDb, config.EXECUTIONS_TABLE_NAME),
  publishStopSignal: sqsStopSignalPublisher(sqs, {
    workerQueueUrlPrefix: config.WORKER_QUEUE_URL_PREFIX,
    environmentQueueUrlPrefix: config.ENVIRONMENT_QUEUE_URL_PREFIX,
  }),
  invokeStop: lambdaStopInvoker(lambda, config.STOP_FUNCTION_NAME),
  now: () => new Date(),
  guards: { stop: awsStopDependencies(config, { dynamoDb, sqs }), organizationLimits: dynamoOrganizationLimitsDirectory(dynamoDb, config.LIMITS_TABLE_NAME) },
  settings: cleanupSettingsFromConfig(config),
  sweep: {
    inventory: sqsSignalQueueInventory(sqs),
    namePrefixes: [config.WORKER_QUEUE_URL_PREFIX, config.ENVIRONMENT_QUEUE_URL_PREFIX].map(namePrefixOfUrlPrefix),
    settings: sweepSettingsFromConfig(config),
  },
  logger: createLogger("cleanup"),
  metrics: createMetrics("cleanup"),
});
