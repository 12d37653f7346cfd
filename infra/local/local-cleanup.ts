import type { Context } from "aws-lambda";
import { createDynamoDbClient, createSqsClient } from "../../lib/aws/clients.js";
import { type CleanupReport, runCleanup } from "../../lib/cleanup.js";
import { readCleanupConfig } from "../../lib/config.js";
import { dynamoCleanupQueries } from "../../lib/executions/cleanup-queries.js";
import { sqsStopSignalPublisher } from "../../lib/signals/publisher.js";
import type { StopTaskInvocation, StopTaskInvocationResult } from "../../lib/stop-task-invocation.js";
import { cleanupSettingsFromConfig } from "../../functions/cleanup/app.js";
import { localLambdaContext } from "./lambda-context.js";
import type { StackFile } from "./stack-file.js";

export type StopInvoker = (invocation: StopTaskInvocation) => Promise<StopTaskInvocationResult>;

/**
 * The cleanup on the local stack: the same core and settings (from the same environment
 * variables) as the Lambda, with the stop function invoked in-process instead of through Lambda.
 */
export function createLocalCleanup(stack: StackFile, invokeStop: StopInvoker, env: Record<string, string | undefined> = process.env) {
  const config = readCleanupConfig({
    ...env,
    EXECUTIONS_TABLE_NAME: stack.tables.executions,
    STOP_SIGNAL_QUEUE_URL: stack.queues.stop_signals,
    ASSET_COMMAND_QUEUE_URL: stack.queues.asset_commands,
    STOP_FUNCTION_NAME: "stop-task (in-process)",
  });
  const clientOptions = { requestTimeoutMs: 5000, connectionTimeoutMs: 2000, maxAttempts: 3, region: stack.region };
  const dynamoDb = createDynamoDbClient({ ...clientOptions, endpoint: stack.dynamodb_endpoint });
  const sqs = createSqsClient({ ...clientOptions, endpoint: stack.sqs_endpoint });
  const deps = {
    queries: dynamoCleanupQueries(dynamoDb, stack.tables.executions),
    publishStopSignal: sqsStopSignalPublisher(sqs, {
      stopSignalQueueUrl: stack.queues.stop_signals,
      assetCommandQueueUrl: stack.queues.asset_commands,
    }),
    invokeStop,
    now: () => new Date(),
    onItemFailure: (taskId: string, job: string, error: unknown) =>
      console.error(`cleanup: ${job} of ${taskId} failed: ${error instanceof Error ? error.message : String(error)}`),
  };
  const settings = { ...cleanupSettingsFromConfig(config), timeBudgetMs: 55_000 };
  return (): Promise<CleanupReport> => runCleanup(deps, settings);
}

/** The stop function's direct-invoke contract, served by its real handler in this process. */
export type InvokableHandler = (event: Record<string, unknown>, context: Context) => Promise<unknown>;

export function inProcessStopInvoker(handler: InvokableHandler): StopInvoker {
  return async (invocation) => (await handler({ ...invocation }, localLambdaContext("stop-task"))) as StopTaskInvocationResult;
}
