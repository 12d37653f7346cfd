import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import type { ApiKeyAuthorizer } from "../../lib/auth/api-keys.js";
import type { CreateBulkStopDependencies } from "../../lib/bulk-stop/create.js";
import type { BulkStopRunDependencies } from "../../lib/bulk-stop/processor.js";
import { isApiGatewayEvent } from "../../lib/http/task-request.js";
import type { OutcomeRecorder } from "../../lib/outcome-metrics.js";
import { createBulkStopHttpHandler } from "./http.js";
import { createBulkStopJobHandler } from "./jobs.js";

export interface BulkStopHandlerDependencies
  extends Omit<BulkStopRunDependencies, "timeLeftMs">,
    CreateBulkStopDependencies,
    OutcomeRecorder {
  readonly authorize: ApiKeyAuthorizer;
  /** How long before the function's timeout a run stops taking pages (default 15 s). */
  readonly runMarginMs?: number;
}

export type BulkStopEvent = APIGatewayProxyEvent | SQSEvent;
export type BulkStopResult = APIGatewayProxyResult | SQSBatchResponse;

/**
 * The bulk stop function: its three routes (http.ts) for callers holding an API key, and the runs of bulk stops from
 * its queue (jobs.ts). One logger, one metrics flush.
 */
export function createBulkStopHandler(deps: BulkStopHandlerDependencies) {
  const handleHttp = createBulkStopHttpHandler(deps);
  const handleJobs = createBulkStopJobHandler(deps);
  const route = async (event: BulkStopEvent, context: Context): Promise<BulkStopResult> =>
    isApiGatewayEvent(event) ? handleHttp(event, context) : handleJobs(event as SQSEvent, context);
  return middy<BulkStopEvent, BulkStopResult>()
    .use(injectLambdaContext(deps.logger, { resetKeys: true }))
    .use(logMetrics(deps.metrics))
    .handler(route);
}
