/**
 * Composition root of the stop function: config read once, clients built once per container,
 * everything handed to the core. Nothing below this file constructs its own dependencies.
 */
import { createApiKeyAuthorizer, dynamoApiKeyLookup } from "../../lib/auth/api-keys.js";
import { createDynamoDbClient, createSqsClient } from "../../lib/aws/clients.js";
import { awsClientOptions, readStopTaskConfig } from "../../lib/config.js";
import { dynamoExecutionRepository } from "../../lib/executions/repository.js";
import { createLogger, createMetrics } from "../../lib/observability.js";
import { sqsStopSignalPublisher } from "../../lib/signals/publisher.js";
import { createStopTaskHandler } from "./app.js";

const config = readStopTaskConfig();
const clientOptions = awsClientOptions(config);
const dynamoDb = createDynamoDbClient({ ...clientOptions, endpoint: config.DYNAMODB_ENDPOINT });
const sqs = createSqsClient({ ...clientOptions, endpoint: config.SQS_ENDPOINT });

export const handler = createStopTaskHandler({
  authorize: createApiKeyAuthorizer({
    lookup: dynamoApiKeyLookup(dynamoDb, config.API_KEYS_TABLE_NAME),
    cacheTtlMs: config.API_KEY_CACHE_TTL_SECONDS * 1000,
  }),
  executions: dynamoExecutionRepository(dynamoDb, config.EXECUTIONS_TABLE_NAME),
  publishStopSignal: sqsStopSignalPublisher(sqs, {
    stopSignalQueueUrl: config.STOP_SIGNAL_QUEUE_URL,
    assetCommandQueueUrl: config.ASSET_COMMAND_QUEUE_URL,
  }),
  now: () => new Date(),
  signalAckTimeoutMs: config.SIGNAL_ACK_TIMEOUT_SECONDS * 1000,
  logger: createLogger(),
  metrics: createMetrics(),
});
