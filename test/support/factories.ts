import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";
import { toApiGatewayProxyEvent } from "../../infra/local/api-gateway-event.js";
import { localLambdaContext } from "../../infra/local/lambda-context.js";
import type { AgentExecutionInput } from "../../lib/execution.js";
import { rememberSecret } from "./secret-registry.js";

type StoredExecution = AgentExecutionInput & Record<string, unknown>;

/** The worker `anExecution()` names; `provisionIsolatedStack()` makes its queue, as that worker would at start. */
export const FACTORY_WORKER_ID = "worker-7";

/** A stored execution item; overrides may hold anything a stored record could, credentials included. */
export function anExecution(
  overrides: Partial<Record<keyof AgentExecutionInput, unknown>> & Record<string, unknown> = {},
): StoredExecution {
  return {
    id: randomUUID(),
    agent_id: `agent-${randomUUID().slice(0, 8)}`,
    organization_id: "org-a",
    input: { text: "summarise the quarterly report", files: [] },
    status: "executing",
    created_at: "2026-11-25T10:00:00.000Z",
    started_at: "2026-11-25T10:00:01.000Z",
    worker_id: FACTORY_WORKER_ID,
    source: "api",
    ...overrides,
  } as StoredExecution;
}

export function aStopRequest(
  taskId: string,
  apiKey?: string,
  extraHeaders: [string, string][] = [],
  options: { body?: string | null; contentType?: string | null } = {},
) {
  rememberSecret(apiKey);
  for (const [name, value] of extraHeaders) if (name.toLowerCase() === "x-api-key") rememberSecret(value);
  const headers: [string, string][] = apiKey === undefined ? [] : [["x-api-key", apiKey]];
  const contentType = options.contentType === undefined ? "application/json" : options.contentType;
  return toApiGatewayProxyEvent({
    method: "POST",
    path: `/v1/tasks/${encodeURIComponent(taskId)}/stop`,
    resource: "/v1/tasks/{task_id}/stop",
    pathParameters: { task_id: taskId },
    rawHeaders: [
      ...headers,
      ...(contentType === null ? [] : [["content-type", contentType] as [string, string]]),
      ...extraHeaders,
    ],
    body: options.body ?? null,
    stage: "test",
  });
}

export function aLambdaContext(): Context {
  return localLambdaContext("stop-task");
}
