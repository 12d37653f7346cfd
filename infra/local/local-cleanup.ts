import type { Context } from "aws-lambda";
import { createDynamoDbClient, createSqsClient } from "../../lib/aws/clients.js";
import { awsStopDependencies } from "../../lib/aws/stop-dependencies.js";
import { type CleanupReport, runCleanup } from "../../lib/cleanup.js";
import { readCleanupConfig } from "../../lib/config.js";
import { dynamoCleanupQueries } from "../../lib/executions/cleanup-queries.js";
import { dynamoOrganizationLimitsDirectory } from "../../lib/executions/limits-store.js";
import { sqsStopSignalPublisher } from "../../lib/signals/publisher.js";
import { type SweepReport, sqsSignalQueueInventory, sweepIdleSignalQueues } from "../../lib/signals/queue-sweep.js";
import type { StopTaskInvocation, StopTaskInvocationResult } from "../../lib/stop-task-invocation.js";
import { cleanupSettingsFromConfig, sweepSettingsFromConfig } from "../../functions/cleanup/app.js";
import { localLambdaContext } from "./lambda-context.js";
import type { StackFile } from "./stack-file.js";

export type StopInvoker = (invocation: StopTaskInvocation) => Promise<StopTaskInvocationResult>;

/**
 * The cleanup on the local stack: the same core and settings (from the same environment
 * variables) as the Lambda, with the stop function invoked in-process instead of through Lambda.
 * `sweep()` is the hourly job's: the queues of workers and environments gone quiet.
 */
export function createLocalCleanup(stack: StackFile, invokeStop: StopInvoker, env: Record<string, string | undefined> = process.env) {
  const config = readCleanupConfig({
    ...env,
    EXECUTIONS_TABLE_NAME: stack.tables.executions,
    WORKER_QUEUE_URL_PREFIX: stack.signal_channels.workers.url_prefix,
    ENVIRONMENT_QUEUE_URL_PREFIX: stack.signal_channels.environments.url_prefix,
    STOP_FUNCTION_NAME: "stop-task (in-process)",
    LIMITS_TABLE_NAME: stack.tables.limits,
  });
  const clientOptions = { requestTimeoutMs: 5000, connectionTimeoutMs: 2000, maxAttempts: 3, region: stack.region };
  const dynamoDb = createDynamoDbClient({ ...clientOptions, endpoint: stack.dynamodb_endpoint });
  const sqs = createSqsClient({ ...clientOptions, endpoint: stack.sqs_endpoint });
  const deps = {
    queries: dynamoCleanupQueries(dynamoDb, stack.tables.executions),
    publishStopSignal: sqsStopSignalPublisher(sqs, {
      workerQueueUrlPrefix: config.WORKER_QUEUE_URL_PREFIX,
      environmentQueueUrlPrefix: config.ENVIRONMENT_QUEUE_URL_PREFIX,
    }),
    invokeStop,
    now: () => new Date(),
    guards: { stop: awsStopDependencies(config, { dynamoDb, sqs }), organizationLimits: dynamoOrganizationLimitsDirectory(dynamoDb, config.LIMITS_TABLE_NAME) },
    onItemFailure: (taskId: string, job: string, error: unknown) =>
      console.error(`cleanup: ${job} of ${taskId} failed: ${error instanceof Error ? error.message : String(error)}`),
  };
  const settings = { ...cleanupSettingsFromConfig(config), timeBudgetMs: 55_000 };
  const sweepDeps = {
    inventory: sqsSignalQueueInventory(sqs),
    namePrefixes: [stack.signal_channels.workers.name_prefix, stack.signal_channels.environments.name_prefix],
    now: deps.now,
    onQueueFailure: (queueUrl: string, error: unknown) =>
      console.error(`cleanup: sweep of ${queueUrl} failed: ${error instanceof Error ? error.message : String(error)}`),
  };
  const sweepSettings = { ...sweepSettingsFromConfig(config), timeBudgetMs: 55_000 };
  return {
    run: (): Promise<CleanupReport> => runCleanup(deps, settings),
    sweep: (): Promise<SweepReport> => sweepIdleSignalQueues(sweepDeps, sweepSettings),
  };
}

/** The stop function's direct-invoke contract, served by its real handler in this process. */
export type InvokableHandler = (event: Record<string, unknown>, context: Context) => Promise<unknown>;

export function inProcessStopInvoker(handler: InvokableHandler): StopInvoker {
  return async (invocation) => (await handler({ ...invocation }, localLambdaContext("stop-task"))) as StopTaskInvocationResult;
}
