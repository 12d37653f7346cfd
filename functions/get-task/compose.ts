import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createApiKeyAuthorizer, dynamoApiKeyLookup } from "../../lib/auth/api-keys.js";
import type { GetTaskConfig } from "../../lib/config.js";
import { dynamoExecutionRepository } from "../../lib/executions/repository.js";
import { createLogger, createMetrics } from "../../lib/observability.js";
import { createGetTaskHandler, type GetTaskHandlerDependencies } from "./app.js";

/**
 * The get function, wired from a config and its one client: handler.ts, the local stack and the tests all call this.
 */
export function composeGetTask(
  config: GetTaskConfig,
  clients: { readonly dynamoDb: DynamoDBClient },
  overrides: Partial<GetTaskHandlerDependencies> = {},
) {
  return createGetTaskHandler({
    authorize: createApiKeyAuthorizer({
      lookup: dynamoApiKeyLookup(clients.dynamoDb, config.API_KEYS_TABLE_NAME),
      cacheTtlMs: config.API_KEY_CACHE_TTL_SECONDS * 1000,
    }),
    executions: dynamoExecutionRepository(clients.dynamoDb, config.EXECUTIONS_TABLE_NAME),
    logger: createLogger("get-task"),
    metrics: createMetrics("get-task"),
    ...overrides,
  });
}
