import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import type { ApiKeyAuthorizer } from "../../lib/auth/api-keys.js";
import type { ExecutionReader } from "../../lib/executions/repository.js";
import { createTaskRequestHandler } from "../../lib/http/task-request.js";

export interface GetTaskHandlerDependencies {
  readonly authorize: ApiKeyAuthorizer;
  readonly executions: ExecutionReader;
  readonly logger: Logger;
  readonly metrics: Metrics;
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
