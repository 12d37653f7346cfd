import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { StopTaskConfig } from "../config.js";
import { dynamoExecutionRepository } from "../executions/repository.js";
import { sqsStopSignalPublisher } from "../signals/publisher.js";
import type { StopTaskDependencies } from "../stop-task.js";

/** What the stop core needs from a function's config: its table, its signal channels and the acknowledgement time. */
export type StopCoreConfig = Pick<
  StopTaskConfig,
  "EXECUTIONS_TABLE_NAME" | "WORKER_QUEUE_URL_PREFIX" | "ENVIRONMENT_QUEUE_URL_PREFIX" | "SIGNAL_ACK_TIMEOUT_SECONDS"
>;

/**
 * The stop core wired to AWS, for every function that stops a task (the stop function, and the
 * stream processor's cascade): one repository and one publisher, so that every stop, whatever
 * asked for it, is written and routed to its worker the same way.
 */
export function awsStopDependencies(
  config: StopCoreConfig,
  clients: { dynamoDb: DynamoDBClient; sqs: SQSClient },
): StopTaskDependencies {
  return {
    executions: dynamoExecutionRepository(clients.dynamoDb, config.EXECUTIONS_TABLE_NAME),
    publishStopSignal: sqsStopSignalPublisher(clients.sqs, {
      workerQueueUrlPrefix: config.WORKER_QUEUE_URL_PREFIX,
      environmentQueueUrlPrefix: config.ENVIRONMENT_QUEUE_URL_PREFIX,
    }),
    now: () => new Date(),
    signalAckTimeoutMs: config.SIGNAL_ACK_TIMEOUT_SECONDS * 1000,
  };
}
