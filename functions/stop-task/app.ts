import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import type { ApiKeyAuthorizer } from "../../lib/auth/api-keys.js";
import { isDependencyUnavailable } from "../../lib/aws/errors.js";
import { taskIdSchema } from "../../lib/execution.js";
import { InvalidStoredExecutionError } from "../../lib/executions/repository.js";
import { httpResponses, invalidTaskIdIssue } from "../../lib/http/responses.js";
import { MetricUnit } from "../../lib/observability.js";
import {
  type StopTaskInvocationResult,
  stopTaskInvocationSchema,
} from "../../lib/stop-task-invocation.js";
import { type StopTaskDependencies, type StopTaskOutcome, stopTask, USER_STOP_REASON } from "../../lib/stop-task.js";
import { singleHeader } from "../../lib/http/headers.js";

export interface StopTaskHandlerDependencies extends StopTaskDependencies {
  readonly authorize: ApiKeyAuthorizer;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export type StopTaskEvent = APIGatewayProxyEvent | Record<string, unknown>;
export type StopTaskResult = APIGatewayProxyResult | StopTaskInvocationResult;

function isApiGatewayEvent(event: StopTaskEvent): event is APIGatewayProxyEvent {
  return typeof event === "object" && event !== null && "httpMethod" in event && "requestContext" in event;
}

/**
 * The stop function: API Gateway REST events from callers holding an API key, and direct
 * invocations from trusted internal callers. Both adapters end in the same `stopTask` core.
 */
export function createStopTaskHandler(deps: StopTaskHandlerDependencies) {
  const { logger, metrics } = deps;

  function recordOutcome(outcome: string): void {
    logger.info("stop request handled", { outcome });
    metrics.addMetric(`Stop_${outcome}`, MetricUnit.Count, 1);
  }

  function recordSignal(taskId: string, outcome: StopTaskOutcome): void {
    if (outcome.kind !== "stopped" && outcome.kind !== "unchanged") return;
    if (outcome.signal === "pending" || outcome.signal === "unrecorded") {
      const level = outcome.signal === "unrecorded" ? "error" : "warn";
      logger[level]("stop signal not delivered", {
        task_id: taskId,
        signal: outcome.signal,
        error: outcome.signalError instanceof Error ? outcome.signalError.name : "unknown",
      });
      metrics.addMetric(outcome.signal === "pending" ? "StopSignalPending" : "StopSignalUnrecorded", MetricUnit.Count, 1);
    } else if (outcome.signal === "resent") {
      metrics.addMetric("StopSignalResent", MetricUnit.Count, 1);
    }
  }

  function recordFailure(taskId: string | undefined, error: unknown): "unavailable" | "internal_error" {
    if (error instanceof InvalidStoredExecutionError) {
      logger.error("stored execution does not satisfy the schema", { task_id: error.taskId });
      metrics.addMetric("InvalidStoredExecution", MetricUnit.Count, 1);
      return "internal_error";
    }
    if (isDependencyUnavailable(error)) {
      logger.warn("dependency unavailable", { task_id: taskId, error: error instanceof Error ? error.name : "unknown" });
      metrics.addMetric("DependencyUnavailable", MetricUnit.Count, 1);
      return "unavailable";
    }
    logger.error("unexpected failure", { task_id: taskId, error: error instanceof Error ? error.name : "unknown" });
    metrics.addMetric("UnexpectedError", MetricUnit.Count, 1);
    return "internal_error";
  }

  async function handleHttp(event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> {
    const requestId = event.requestContext?.requestId ?? context.awsRequestId;
    logger.appendKeys({ request_id: requestId });
    let taskId: string | undefined;
    try {
      // Authorization comes first: a caller without a valid key learns nothing about the task id.
      const principal = await deps.authorize(singleHeader(event, "x-api-key"));
      if (!principal) {
        recordOutcome("unauthorized");
        return httpResponses.unauthorized(requestId);
      }
      logger.appendKeys({ organization_id: principal.organizationId, key_id: principal.keyId });

      const parsedTaskId = taskIdSchema.safeParse(event.pathParameters?.task_id);
      if (!parsedTaskId.success) {
        recordOutcome("invalid_task_id");
        return httpResponses.validationError([invalidTaskIdIssue], requestId);
      }
      taskId = parsedTaskId.data;
      logger.appendKeys({ task_id: taskId });

      const outcome = await stopTask(
        {
          taskId,
          requester: { kind: "api_key", organizationId: principal.organizationId, keyId: principal.keyId },
          reason: USER_STOP_REASON,
        },
        deps,
      );
      recordSignal(taskId, outcome);
      recordOutcome(outcome.kind);
      switch (outcome.kind) {
        case "stopped":
        case "unchanged":
          return httpResponses.ok(outcome.execution, requestId);
        case "not_found":
          return httpResponses.notFound(requestId);
        case "forbidden":
          return httpResponses.forbidden(requestId);
      }
    } catch (error) {
      const failure = recordFailure(taskId, error);
      return failure === "unavailable" ? httpResponses.serviceUnavailable(requestId) : httpResponses.internalError(requestId);
    }
  }

  async function handleInvocation(event: Record<string, unknown>, context: Context): Promise<StopTaskInvocationResult> {
    logger.appendKeys({ request_id: context.awsRequestId });
    const parsed = stopTaskInvocationSchema.safeParse(event);
    const taskId = parsed.success ? taskIdSchema.safeParse(parsed.data.task_id) : undefined;
    if (!parsed.success || !taskId?.success) {
      recordOutcome("invalid_invocation");
      return { ok: false, error: { type: "validation_error", message: "expected {action: 'stop_task', task_id: UUID, reason, requested_by}" } };
    }
    logger.appendKeys({ task_id: taskId.data, requested_by: parsed.data.requested_by });
    try {
      const outcome = await stopTask(
        {
          taskId: taskId.data,
          requester: { kind: "system", requestedBy: parsed.data.requested_by },
          reason: parsed.data.reason,
        },
        deps,
      );
      recordSignal(taskId.data, outcome);
      recordOutcome(outcome.kind);
      switch (outcome.kind) {
        case "stopped":
        case "unchanged":
          return { ok: true, outcome: outcome.kind, execution: outcome.execution };
        case "not_found":
        case "forbidden":
          return { ok: false, error: { type: "not_found", message: "Task not found" } };
      }
    } catch (error) {
      const failure = recordFailure(taskId.data, error);
      return {
        ok: false,
        error:
          failure === "unavailable"
            ? { type: "unavailable", message: "a dependency is unavailable; retry later" }
            : { type: "internal_error", message: "internal error" },
      };
    }
  }

  const route = async (event: StopTaskEvent, context: Context): Promise<StopTaskResult> =>
    isApiGatewayEvent(event) ? handleHttp(event, context) : handleInvocation(event, context);

  return middy<StopTaskEvent, StopTaskResult>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .handler(route);
}
