import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import {
  type FunctionName,
  functionDefinitions,
  type RouteFunctionName,
  routeFunctionNames,
} from "../../lib/resources.js";
import { LOCAL_REGION, LocalStackError, localClientOptions } from "./emulators.js";
import type { ProxyHandler } from "./server.js";
import type { StackFile } from "./stack-file.js";

/**
 * Runs the real Lambda entries (their composition roots) in this process against the local
 * stack: the environment they read is set first, since each reads it once when imported.
 */

/** Credentials and quiet defaults for the emulators; a variable already set wins. */
export function useLocalProcessDefaults(): void {
  // The emulators accept any credentials; the SDK only needs some to sign with.
  process.env.AWS_REGION ??= LOCAL_REGION;
  process.env.AWS_ACCESS_KEY_ID ??= "local";
  process.env.AWS_SECRET_ACCESS_KEY ??= "local";
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  process.env.POWERTOOLS_LOG_LEVEL ??= "WARN";
  process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
  process.env.AWS_REQUEST_TIMEOUT_MS ??= String(localClientOptions.requestTimeoutMs);
  process.env.AWS_CONNECTION_TIMEOUT_MS ??= String(localClientOptions.connectionTimeoutMs);
}

export function pointFunctionsAt(
  stack: Pick<StackFile, "tables" | "signal_channels" | "queues" | "dynamodb_endpoint" | "sqs_endpoint">,
): void {
  Object.assign(process.env, {
    EXECUTIONS_TABLE_NAME: stack.tables.executions,
    API_KEYS_TABLE_NAME: stack.tables.api_keys,
    LIMITS_TABLE_NAME: stack.tables.limits,
    BULK_STOPS_TABLE_NAME: stack.tables.bulk_stops,
    BULK_STOP_JOBS_QUEUE_URL: stack.queues.bulk_stop_jobs,
    WORKER_QUEUE_URL_PREFIX: stack.signal_channels.workers.url_prefix,
    ENVIRONMENT_QUEUE_URL_PREFIX: stack.signal_channels.environments.url_prefix,
    EVENTS_QUEUE_URL: stack.queues.events,
    DYNAMODB_ENDPOINT: stack.dynamodb_endpoint,
    SQS_ENDPOINT: stack.sqs_endpoint,
  });
}

export async function loadFunctionHandler<Handler>(name: FunctionName): Promise<Handler> {
  const definition = functionDefinitions[name];
  const module = (await import(pathToFileURL(resolve(definition.entry)).href)) as Record<string, Handler>;
  const handler = module[definition.handlerExport];
  if (!handler) throw new LocalStackError(`${definition.entry} exports no ${definition.handlerExport}`);
  return handler;
}

export async function loadRouteHandlers(): Promise<Record<RouteFunctionName, ProxyHandler>> {
  const entries = await Promise.all(
    routeFunctionNames.map(async (name) => [name, await loadFunctionHandler<ProxyHandler>(name)] as const),
  );
  return Object.fromEntries(entries) as Record<RouteFunctionName, ProxyHandler>;
}
