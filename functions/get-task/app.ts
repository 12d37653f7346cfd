import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import type { ApiKeyAuthorizer } from "../../lib/auth/api-keys.js";
import type { ExecutionReader } from "../../lib/executions/repository.js";
import { createTaskRequestHandler } from "../../lib/http/task-request.js";
import type { OutcomeRecorder } from "../../lib/outcome-metrics.js";

export interface GetTaskHandlerDependencies extends OutcomeRecorder {
  readonly authorize: ApiKeyAuthorizer;
  readonly executions: ExecutionReader;
}

/** Get Task: the record a caller polls until `status` is terminal. One GetItem, no write, no message. */
export function createGetTaskHandler(deps: GetTaskHandlerDependencies) {
  const handleHttp = createTaskRequestHandler(deps, (taskId, principal) =>
    deps.executions.find(taskId, principal.organizationId),
  );
  return middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
    .use(injectLambdaContext(deps.logger, { resetKeys: true }))
    .use(logMetrics(deps.metrics))
    .handler(handleHttp);
}
