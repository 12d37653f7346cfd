/** Composition root of the get function: config once, clients once per container. */
import { createApiKeyAuthorizer, dynamoApiKeyLookup } from "../../lib/auth/api-keys.js";
import { createDynamoDbClient } from "../../lib/aws/clients.js";
import { awsClientOptions, readGetTaskConfig } from "../../lib/config.js";
import { dynamoExecutionRepository } from "../../lib/executions/repository.js";
import { createLogger, createMetrics } from "../../lib/observability.js";
import { createGetTaskHandler } from "./app.js";

const config = readGetTaskConfig();
const dynamoDb = createDynamoDbClient({ ...awsClientOptions(config), endpoint: config.DYNAMODB_ENDPOINT });

export const handler = createGetTaskHandler({
  authorize: createApiKeyAuthorizer({
    lookup: dynamoApiKeyLookup(dynamoDb, config.API_KEYS_TABLE_NAME),
    cacheTtlMs: config.API_KEY_CACHE_TTL_SECONDS * 1000,
  }),
  executions: dynamoExecutionRepository(dynamoDb, config.EXECUTIONS_TABLE_NAME),
  logger: createLogger("get-task"),
  metrics: createMetrics("get-task"),
});
