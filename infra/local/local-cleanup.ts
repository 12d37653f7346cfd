import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Context } from "aws-lambda";
import { composeCleanup } from "../../functions/cleanup/compose.js";
import { createDynamoDbClient, createSqsClient } from "../../lib/aws/clients.js";
import type { CleanupReport } from "../../lib/cleanup.js";
import { readCleanupConfig } from "../../lib/config.js";
import { SWEEP_SIGNAL_QUEUES_JOB, type SweepReport } from "../../lib/signals/queue-sweep.js";
import type { StopTaskInvocation, StopTaskInvocationResult } from "../../lib/stop-task-invocation.js";
import { localClientOptions } from "./emulators.js";
import { localLambdaContext } from "./lambda-context.js";
import type { StackFile } from "./stack-file.js";

export type StopInvoker = (invocation: StopTaskInvocation) => Promise<StopTaskInvocationResult>;

/**
 * The cleanup function on the local stack: its real handler, wired by its own `composeCleanup`
 * from the same environment variables as the Lambda, with the stop function invoked in-process
 * instead of through Lambda. `run()` is the minute schedule's invocation, `sweep()` the hourly one's.
 */
export function createLocalCleanup(
  stack: StackFile,
  invokeStop: StopInvoker,
  env: Record<string, string | undefined> = process.env,
  /** A bench's own DynamoDB client (one that counts its calls), and a clock held still. */
  options: { readonly dynamoDb?: DynamoDBClient; readonly now?: () => Date } = {},
) {
  const config = readCleanupConfig({
    ...env,
    EXECUTIONS_TABLE_NAME: stack.tables.executions,
    WORKER_QUEUE_URL_PREFIX: stack.signal_channels.workers.url_prefix,
    ENVIRONMENT_QUEUE_URL_PREFIX: stack.signal_channels.environments.url_prefix,
    STOP_FUNCTION_NAME: "stop-task (in-process)",
    LIMITS_TABLE_NAME: stack.tables.limits,
    SWEEP_POSITIONS_TABLE_NAME: stack.tables.sweep_positions,
  });
  const clientOptions = { ...localClientOptions, region: stack.region };
  const handler = composeCleanup(
    config,
    {
      dynamoDb: options.dynamoDb ?? createDynamoDbClient({ ...clientOptions, endpoint: stack.dynamodb_endpoint }),
      sqs: createSqsClient({ ...clientOptions, endpoint: stack.sqs_endpoint }),
      invokeStop,
    },
    options.now ? { now: options.now } : {},
  );
  return {
    run: async () => (await handler({}, localLambdaContext("cleanup"))) as CleanupReport,
    sweep: async () => (await handler({ job: SWEEP_SIGNAL_QUEUES_JOB }, localLambdaContext("cleanup"))) as SweepReport,
  };
}

/** The stop function's direct-invoke contract, served by its real handler in this process. */
export type InvokableHandler = (event: Record<string, unknown>, context: Context) => Promise<unknown>;

export function inProcessStopInvoker(handler: InvokableHandler): StopInvoker {
  return async (invocation) =>
    (await handler({ ...invocation }, localLambdaContext("stop-task"))) as StopTaskInvocationResult;
}
