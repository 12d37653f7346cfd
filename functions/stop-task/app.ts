import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { type ApiKeyAuthorizer, createApiKeyAuthorizer, dynamoApiKeyLookup, type Principal } from "../../lib/auth/api-keys.js";
import type { StopTaskConfig } from "../../lib/config.js";
import { awsStopDependencies } from "../../lib/aws/stop-dependencies.js";
import { taskIdSchema } from "../../lib/execution.js";
import { type SetTaskLimitsResult, setTaskLimits } from "../../lib/executions/limits-store.js";
import { toExecution } from "../../lib/executions/repository.js";
import { readLimitsRequestBody } from "../../lib/http/limits-request-body.js";
import type { Limits } from "../../lib/limits.js";
import { readStopRequestBody, type StopRequestBody } from "../../lib/http/stop-request-body.js";
import {
  createTaskRequestHandler,
  isApiGatewayEvent,
  recordFailure,
  recordOutcome,
  type TaskOperationOutcome,
} from "../../lib/http/task-request.js";
import { createLogger, createMetrics, MetricUnit } from "../../lib/observability.js";
import { type StopTaskInvocationResult, stopTaskInvocationSchema } from "../../lib/stop-task-invocation.js";
import { type StopTaskDependencies, type StopTaskOutcome, stopTask, USER_STOP_REASON } from "../../lib/stop-task.js";

const TASK_LIMITS_PATH = "/v1/tasks/{task_id}/limits";

export interface StopTaskHandlerDependencies extends StopTaskDependencies {
  readonly authorize: ApiKeyAuthorizer;
  /** `PUT .../limits`: the task's own limits, one conditional write in the caller's organization. */
  readonly setTaskLimits: (command: { readonly taskId: string; readonly organizationId: string; readonly limits: Limits }) => Promise<SetTaskLimitsResult>;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** The stop function's dependencies from its config and its two clients: what handler.ts (and the bench) wire. */
export function stopTaskDependencies(config: StopTaskConfig, clients: { dynamoDb: DynamoDBClient; sqs: SQSClient }): StopTaskHandlerDependencies {
  return {
    authorize: createApiKeyAuthorizer({
      lookup: dynamoApiKeyLookup(clients.dynamoDb, config.API_KEYS_TABLE_NAME),
      cacheTtlMs: config.API_KEY_CACHE_TTL_SECONDS * 1000,
    }),
    ...awsStopDependencies(config, clients),
    setTaskLimits: (command) => setTaskLimits(clients.dynamoDb, config.EXECUTIONS_TABLE_NAME, command),
    logger: createLogger(),
    metrics: createMetrics(),
  };
}

export type StopTaskEvent = APIGatewayProxyEvent | Record<string, unknown>;
export type StopTaskResult = APIGatewayProxyResult | StopTaskInvocationResult;

/**
 * The stop function: API Gateway REST events from callers holding an API key, and direct
 * invocations from trusted internal callers. Both adapters end in the same `stopTask` core.
 */
export function createStopTaskHandler(deps: StopTaskHandlerDependencies) {
  const { logger, metrics } = deps;

  function recordSignal(taskId: string, outcome: StopTaskOutcome): void {
    if (outcome.kind === "not_found" || outcome.kind === "forbidden") return;
    if (outcome.signal === "pending" || outcome.signal === "unrecorded") {
      // "unrecorded": the stop is saved but nothing marks its signal as owed; only the record's state remains.
      logger[outcome.signal === "unrecorded" ? "error" : "warn"]("stop signal not delivered", {
        task_id: taskId,
        signal: outcome.signal,
        error: outcome.signalError instanceof Error ? outcome.signalError.name : "unknown",
      });
      metrics.addMetric(outcome.signal === "pending" ? "StopSignalPending" : "StopSignalUnrecorded", MetricUnit.Count, 1);
    } else if (outcome.signal === "resent") {
      metrics.addMetric("StopSignalResent", MetricUnit.Count, 1);
    }
  }

  async function stopForCaller(taskId: string, principal: Principal, body: StopRequestBody): Promise<TaskOperationOutcome> {
    const outcome = await stopTask(
      {
        taskId,
        requester: { kind: "api_key", organizationId: principal.organizationId, keyId: principal.keyId },
        reason: USER_STOP_REASON,
        ...(body.note === undefined ? {} : { note: body.note }),
      },
      deps,
    );
    recordSignal(taskId, outcome);
    // The stop and its signal are done; only the answer cannot be given (500, logged with the task id).
    if (outcome.kind === "unreadable") throw outcome.error;
    return outcome.kind === "stopped" || outcome.kind === "unchanged"
      ? { kind: "found", execution: outcome.execution, outcome: outcome.kind }
      : outcome;
  }

  const handleStopHttp = createTaskRequestHandler(deps, stopForCaller, readStopRequestBody);

  /**
   * A task's own limits. The write is the whole operation: a limit below what the task already
   * spent is enforced by the runaway guards from the write's own stream record (lib/guards.ts),
   * within a second or two, so this answer never waits on, nor is slowed by, a stop.
   */
  async function setLimitsForCaller(taskId: string, principal: Principal, limits: Limits): Promise<TaskOperationOutcome> {
    const result = await deps.setTaskLimits({ taskId, organizationId: principal.organizationId, limits });
    return result.kind === "set" ? { kind: "found", execution: toExecution(taskId, result.item), outcome: "limits_set" } : result;
  }

  const handleLimitsHttp = createTaskRequestHandler(deps, setLimitsForCaller, readLimitsRequestBody);
  const handleHttp = (event: APIGatewayProxyEvent, context: Context) =>
    event.resource === TASK_LIMITS_PATH ? handleLimitsHttp(event, context) : handleStopHttp(event, context);

  async function handleInvocation(event: Record<string, unknown>, context: Context): Promise<StopTaskInvocationResult> {
    logger.appendKeys({ request_id: context.awsRequestId });
    const parsed = stopTaskInvocationSchema.safeParse(event);
    const taskId = parsed.success ? taskIdSchema.safeParse(parsed.data.task_id) : undefined;
    if (!parsed.success || !taskId?.success) {
      recordOutcome(deps, "invalid_invocation", { request_id: context.awsRequestId });
      return {
        ok: false,
        error: { type: "validation_error", message: "expected {action: 'stop_task', task_id: UUID, reason, requested_by}" },
      };
    }
    logger.appendKeys({ task_id: taskId.data, requested_by: parsed.data.requested_by });
    try {
      const outcome = await stopTask(
        { taskId: taskId.data, requester: { kind: "system", requestedBy: parsed.data.requested_by }, reason: parsed.data.reason },
        deps,
      );
      recordSignal(taskId.data, outcome);
      if (outcome.kind === "unreadable") throw outcome.error;
      recordOutcome(deps, outcome.kind, { request_id: context.awsRequestId, task_id: taskId.data, requested_by: parsed.data.requested_by });
      if (outcome.kind === "stopped" || outcome.kind === "unchanged") {
        return { ok: true, outcome: outcome.kind, execution: outcome.execution };
      }
      // Without an organization scope a stop is never forbidden; both mean "no such task" to a system caller.
      return { ok: false, error: { type: "not_found", message: "Task not found" } };
    } catch (error) {
      return recordFailure(deps, taskId.data, error) === "unavailable"
        ? { ok: false, error: { type: "unavailable", message: "a dependency is unavailable; retry later" } }
        : { ok: false, error: { type: "internal_error", message: "internal error" } };
    }
  }

  const route = async (event: StopTaskEvent, context: Context): Promise<StopTaskResult> =>
    isApiGatewayEvent(event) ? handleHttp(event, context) : handleInvocation(event, context);

  return middy<StopTaskEvent, StopTaskResult>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .handler(route);
}
