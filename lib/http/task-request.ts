import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import type { ApiKeyAuthorizer, Principal } from "../auth/api-keys.js";
import { taskIdSchema } from "../execution.js";
import { type OutcomeRecorder, recordFailure, recordOutcome } from "../outcome-metrics.js";
import type { TaskAnswer } from "../outcomes.js";
import { API_KEY_HEADER, singleHeader } from "./headers.js";
import { httpResponses, invalidTaskIdIssue } from "./responses.js";
import type { RequestBodyRead } from "./stop-request-body.js";

/**
 * The HTTP adapter every task route shares, so that all of them check in the same order and
 * answer in the same shapes: key first (401), then the task id (422), then the operation
 * (200 / 403 / 404), with dependency failures as 503 and anything unexpected as 500.
 */

export type TaskOperation<Body = undefined> = (taskId: string, principal: Principal, body: Body) => Promise<TaskAnswer>;

/**
 * Reads a route's body: its value, or FastAPI-shaped issues (answered 422 with any task id issue, before anything is
 * done).
 */
export type TaskBodyReader<Body> = (event: APIGatewayProxyEvent) => RequestBodyRead<Body>;

export interface TaskRequestDependencies extends OutcomeRecorder {
  readonly authorize: ApiKeyAuthorizer;
}

export type TaskRequestHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/** Routes without a body ignore whatever was sent, as they always have. */
const noBody: TaskBodyReader<undefined> = () => ({ ok: true, body: undefined });

export function createTaskRequestHandler(deps: TaskRequestDependencies, operation: TaskOperation): TaskRequestHandler;
export function createTaskRequestHandler<Body>(
  deps: TaskRequestDependencies,
  operation: TaskOperation<Body>,
  readBody: TaskBodyReader<Body>,
): TaskRequestHandler;
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
      recordOutcome(deps, outcome.kind, {
        request_id: requestId,
        organization_id: principal.organizationId,
        key_id: principal.keyId,
        task_id: taskId,
      });
      switch (outcome.kind) {
        case "not_found":
          return httpResponses.notFound(requestId);
        case "forbidden":
          return httpResponses.forbidden(requestId);
        default:
          return httpResponses.ok(outcome.execution, requestId);
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
