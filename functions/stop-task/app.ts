import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import type { ApiKeyAuthorizer } from "../../lib/auth/api-keys.js";
import type { SetTaskLimitsResult } from "../../lib/executions/limits-store.js";
import { isApiGatewayEvent } from "../../lib/http/task-request.js";
import type { Limits } from "../../lib/limits.js";
import type { OutcomeRecorder } from "../../lib/outcome-metrics.js";
import type { StopTaskDependencies } from "../../lib/stop-task.js";
import type { StopTaskInvocationResult } from "../../lib/stop-task-invocation.js";
import { createStopTaskHttpHandler } from "./http.js";
import { createStopTaskInvocationHandler } from "./invocation.js";

export interface StopTaskHandlerDependencies extends StopTaskDependencies, OutcomeRecorder {
  readonly authorize: ApiKeyAuthorizer;
  /** `PUT .../limits`: the task's own limits, one conditional write in the caller's organization. */
  readonly setTaskLimits: (command: {
    readonly taskId: string;
    readonly organizationId: string;
    readonly limits: Limits;
  }) => Promise<SetTaskLimitsResult>;
}

export type StopTaskEvent = APIGatewayProxyEvent | Record<string, unknown>;
export type StopTaskResult = APIGatewayProxyResult | StopTaskInvocationResult;

/**
 * The stop function: API Gateway REST events from callers holding an API key (http.ts), and
 * direct invocations from trusted internal callers (invocation.ts). Both end in the same
 * `stopTask` core; this file only chooses between them, under one logger and one metrics flush.
 */
export function createStopTaskHandler(deps: StopTaskHandlerDependencies) {
  const handleHttp = createStopTaskHttpHandler(deps);
  const handleInvocation = createStopTaskInvocationHandler(deps);
  const route = async (event: StopTaskEvent, context: Context): Promise<StopTaskResult> =>
    isApiGatewayEvent(event) ? handleHttp(event, context) : handleInvocation(event, context);

  return middy<StopTaskEvent, StopTaskResult>()
    .use(injectLambdaContext(deps.logger, { resetKeys: true }))
    .use(logMetrics(deps.metrics))
    .handler(route);
}
