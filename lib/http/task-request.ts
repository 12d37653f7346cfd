import type { Logger } from "@aws-lambda-powertools/logger";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import type { ApiKeyAuthorizer, Principal } from "../auth/api-keys.js";
import { isDependencyUnavailable } from "../aws/errors.js";
import { type AgentExecution, taskIdSchema } from "../execution.js";
import { InvalidStoredExecutionError } from "../executions/repository.js";
import { singleHeader } from "./headers.js";
import { httpResponses, invalidTaskIdIssue } from "./responses.js";
import type { RequestBodyRead } from "./stop-request-body.js";

/**
 * The HTTP adapter every task route shares, so that all of them check in the same order and
 * answer in the same shapes: key first (401), then the task id (422), then the operation
 * (200 / 403 / 404), with dependency failures as 503 and anything unexpected as 500.
 */

export type TaskOperationOutcome =
  /** `outcome` names what happened for the request's record and metric (e.g. stopped vs unchanged); default "found". */
  | { readonly kind: "found"; readonly execution: AgentExecution; readonly outcome?: string }
  | { readonly kind: "not_found" }
  | { readonly kind: "forbidden" };

export type TaskOperation<Body = undefined> = (taskId: string, principal: Principal, body: Body) => Promise<TaskOperationOutcome>;

/** Reads a route's body: its value, or FastAPI-shaped issues (answered 422 with any task id issue, before anything is done). */
export type TaskBodyReader<Body> = (event: APIGatewayProxyEvent) => RequestBodyRead<Body>;

export interface TaskRequestDependencies {
  readonly authorize: ApiKeyAuthorizer;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export const API_KEY_HEADER = "x-api-key";

export type FailureKind = "unavailable" | "internal_error";

/** Logs and counts a failure by its kind; the task id is the only request detail logged with it. */
export function recordFailure(deps: Pick<TaskRequestDependencies, "logger" | "metrics">, taskId: string | undefined, error: unknown): FailureKind {
  const errorName = error instanceof Error ? error.name : "unknown";
  if (error instanceof InvalidStoredExecutionError) {
    deps.logger.error("stored execution does not satisfy the schema", { task_id: error.taskId });
    deps.metrics.addMetric("InvalidStoredExecution", MetricUnit.Count, 1);
    return "internal_error";
  }
  if (isDependencyUnavailable(error)) {
    deps.logger.warn("dependency unavailable", { task_id: taskId, error: errorName });
    deps.metrics.addMetric("DependencyUnavailable", MetricUnit.Count, 1);
    return "unavailable";
  }
  deps.logger.error("unexpected failure", { task_id: taskId, error: errorName });
  deps.metrics.addMetric("UnexpectedError", MetricUnit.Count, 1);
  return "internal_error";
}

/**
 * The outcome of one request: one EMF line that is both the metric and the request's structured
 * record (request id, organization, key id, task id and outcome ride along as metadata), instead
 * of a log line and a metrics line per request. Measured: the second line per request was a
 * sizeable part of the handler's own CPU on the hot path.
 */
export function recordOutcome(deps: Pick<TaskRequestDependencies, "metrics">, outcome: string, context: Record<string, string | undefined> = {}): void {
  for (const [key, value] of Object.entries(context)) if (value !== undefined) deps.metrics.addMetadata(key, value);
  deps.metrics.addMetadata("outcome", outcome);
  deps.metrics.addMetric(`Outcome_${outcome}`, MetricUnit.Count, 1);
}

export type TaskRequestHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/** Routes without a body ignore whatever was sent, as they always have. */
const noBody: TaskBodyReader<undefined> = () => ({ ok: true, body: undefined });

export function createTaskRequestHandler(deps: TaskRequestDependencies, operation: TaskOperation): TaskRequestHandler;
export function createTaskRequestHandler<Body>(deps: TaskRequestDependencies, operation: TaskOperation<Body>, readBody: TaskBodyReader<Body>): TaskRequestHandler;
export function createTaskRequestHandler<Body>(
  deps: TaskRequestDependencies,
  operation: TaskOperation<Body>,
  readBody: TaskBodyReader<Body> = noBody as unknown as TaskBodyReader<Body>,
): TaskRequestHandler {
  return async (event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> => {
    const requestId = event.requestContext?.requestId ?? context.awsRequestId;
    deps.logger.appendKeys({ request_id: requestId });
    let taskId: string | undefined;
    try {
      // A caller without a valid key learns nothing else: not whether the id is well-formed, nor whether it exists.
      const principal = await deps.authorize(singleHeader(event, API_KEY_HEADER));
      if (!principal) {
        recordOutcome(deps, "unauthorized", { request_id: requestId });
        return httpResponses.unauthorized(requestId);
      }
      deps.logger.appendKeys({ organization_id: principal.organizationId, key_id: principal.keyId });

      // Both are checked before anything is done, and reported together, as FastAPI reports every issue at once.
      const parsedTaskId = taskIdSchema.safeParse(event.pathParameters?.task_id);
      const body = readBody(event);
      if (!parsedTaskId.success || !body.ok) {
        const issues = [...(parsedTaskId.success ? [] : [invalidTaskIdIssue]), ...(body.ok ? [] : body.issues)];
        recordOutcome(deps, parsedTaskId.success ? "invalid_body" : "invalid_task_id", {
          request_id: requestId,
          organization_id: principal.organizationId,
          key_id: principal.keyId,
        });
        return httpResponses.validationError(issues, requestId);
      }
      taskId = parsedTaskId.data;
      deps.logger.appendKeys({ task_id: taskId });

      const outcome = await operation(taskId, principal, body.body);
      recordOutcome(deps, outcome.kind === "found" ? (outcome.outcome ?? outcome.kind) : outcome.kind, {
        request_id: requestId,
        organization_id: principal.organizationId,
        key_id: principal.keyId,
        task_id: taskId,
      });
      switch (outcome.kind) {
        case "found":
          return httpResponses.ok(outcome.execution, requestId);
        case "not_found":
          return httpResponses.notFound(requestId);
        case "forbidden":
          return httpResponses.forbidden(requestId);
      }
    } catch (error) {
      return recordFailure(deps, taskId, error) === "unavailable"
        ? httpResponses.serviceUnavailable(requestId)
        : httpResponses.internalError(requestId);
    }
  };
}

export function isApiGatewayEvent(event: unknown): event is APIGatewayProxyEvent {
  return typeof event === "object" && event !== null && "httpMethod" in event && "requestContext" in event;
}
