import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { awsStopDependencies } from "../../lib/aws/stop-dependencies.js";
import { dynamoBulkStopStore } from "../../lib/bulk-stop/store.js";
import type { ExecutionStreamConfig } from "../../lib/config.js";
import { serviceEventPublisher } from "../../lib/events/publishers.js";
import { dynamoCascadeStore } from "../../lib/executions/cascade-store.js";
import { dynamoDeadlineWrites } from "../../lib/executions/deadlines.js";
import { dynamoOrganizationLimits } from "../../lib/executions/limits-store.js";
import { dynamoOrganizationIndexWrites } from "../../lib/executions/organization-index.js";
import { createLogger, createMetrics } from "../../lib/observability.js";
import { createExecutionStreamHandler, type ExecutionStreamHandlerDependencies } from "./app.js";

export interface ExecutionStreamClients {
  readonly dynamoDb: DynamoDBClient;
  readonly sqs: SQSClient;
  /** Only AWS has a bus: with EVENTS_QUEUE_URL instead (the local stack) none is needed. */
  readonly eventBridge?: EventBridgeClient;
  readonly region?: string;
}

/**
 * The stream processor, wired: the stop core exactly as the stop function's
 * (lib/aws/stop-dependencies.ts), the cascade's reads and cursor, the guards' limits, and the
 * event publisher, which is PutEvents on the bus in AWS and the events queue on the local stack.
 * handler.ts, the local stack and the tests all call this; `overrides` may wrap what it wired.
 */
export function composeExecutionStream(
  config: ExecutionStreamConfig,
  clients: ExecutionStreamClients,
  overrides: (wired: ExecutionStreamHandlerDependencies) => Partial<ExecutionStreamHandlerDependencies> = () => ({}),
) {
  const wired = executionStreamDependencies(config, clients);
  return createExecutionStreamHandler({ ...wired, ...overrides(wired) });
}

function executionStreamDependencies(
  config: ExecutionStreamConfig,
  clients: ExecutionStreamClients,
): ExecutionStreamHandlerDependencies {
  const publishEvents = serviceEventPublisher(config, clients);
  return {
    cascade: {
      stop: awsStopDependencies(config, clients),
      store: dynamoCascadeStore(clients.dynamoDb, config.EXECUTIONS_TABLE_NAME),
    },
    publishEvents,
    guards: {
      organizationLimits: dynamoOrganizationLimits(clients.dynamoDb, config.LIMITS_TABLE_NAME),
      deadlines: dynamoDeadlineWrites(clients.dynamoDb, config.EXECUTIONS_TABLE_NAME),
    },
    holds: {
      organizationIndex: dynamoOrganizationIndexWrites(clients.dynamoDb, config.EXECUTIONS_TABLE_NAME),
      holds: dynamoBulkStopStore(clients.dynamoDb, config.BULK_STOPS_TABLE_NAME),
    },
    settings: { childrenPerRecord: config.CASCADE_CHILDREN_PER_RECORD },
    logger: createLogger("execution-stream"),
    metrics: createMetrics("execution-stream"),
  };
}
