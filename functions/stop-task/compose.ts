import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { createApiKeyAuthorizer, dynamoApiKeyLookup } from "../../lib/auth/api-keys.js";
import { awsStopDependencies } from "../../lib/aws/stop-dependencies.js";
import type { StopTaskConfig } from "../../lib/config.js";
import { setTaskLimits } from "../../lib/executions/limits-store.js";
import { createLogger, createMetrics } from "../../lib/observability.js";
import { createStopTaskHandler, type StopTaskHandlerDependencies } from "./app.js";

export interface StopTaskClients {
  readonly dynamoDb: DynamoDBClient;
  readonly sqs: SQSClient;
}

/**
 * The stop function, wired: the one place its dependencies are built from a config and two
 * clients. handler.ts calls it with the container's; the local stack, the tests and the bench
 * with their own. `overrides` replaces single dependencies (a fixed clock, a failing publisher).
 */
export function composeStopTask(
  config: StopTaskConfig,
  clients: StopTaskClients,
  overrides: Partial<StopTaskHandlerDependencies> = {},
) {
  return createStopTaskHandler({ ...stopTaskDependencies(config, clients), ...overrides });
}

function stopTaskDependencies(config: StopTaskConfig, clients: StopTaskClients): StopTaskHandlerDependencies {
  return {
    authorize: createApiKeyAuthorizer({
      lookup: dynamoApiKeyLookup(clients.dynamoDb, config.API_KEYS_TABLE_NAME),
      cacheTtlMs: config.API_KEY_CACHE_TTL_SECONDS * 1000,
    }),
    ...awsStopDependencies(config, clients),
    setTaskLimits: (command) => setTaskLimits(clients.dynamoDb, config.EXECUTIONS_TABLE_NAME, command),
    logger: createLogger(),
    metrics: createMetrics(),
  };
}
