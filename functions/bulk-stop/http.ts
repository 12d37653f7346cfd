import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import { createBulkStop } from "../../lib/bulk-stop/create.js";
import { bulkStopView } from "../../lib/bulk-stop/view.js";
import { taskIdSchema } from "../../lib/execution.js";
import { readBulkStopRequestBody } from "../../lib/http/bulk-stop-request-body.js";
import { API_KEY_HEADER, singleHeader } from "../../lib/http/headers.js";
import { httpResponses, REQUEST_ID_HEADER, type ValidationIssue } from "../../lib/http/responses.js";
import { recordFailure, recordOutcome } from "../../lib/outcome-metrics.js";
import { formatTimestamp } from "../../lib/timestamp.js";
import type { BulkStopHandlerDependencies } from "./app.js";

export const IDEMPOTENCY_KEY_HEADER = "idempotency-key";
const IDEMPOTENCY_KEY_MAX_LENGTH = 255;

function json(statusCode: number, body: unknown, requestId: string): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { "content-type": "application/json", [REQUEST_ID_HEADER]: requestId },
    body: JSON.stringify(body),
  };
}

const invalidStopIdIssue: ValidationIssue = {
  loc: ["path", "stop_id"],
  msg: "Input should be a valid UUID",
  type: "uuid_parsing",
};

const notFound = (requestId: string) => json(404, { detail: "Bulk stop not found" }, requestId);
const forbidden = (requestId: string) =>
  json(403, { detail: "Bulk stop belongs to a different organization" }, requestId);

/**
 * The bulk stop routes, checked in the order of every route: the key (401), then the request (422), then whether the
 * bulk stop exists (404) and is the caller's organization's (403). A rejected request changes nothing.
 */
export function createBulkStopHttpHandler(deps: BulkStopHandlerDependencies) {
  async function create(event: APIGatewayProxyEvent, organizationId: string, keyId: string, requestId: string) {
    const body = readBulkStopRequestBody(event);
    const idempotencyKey = singleHeader(event, IDEMPOTENCY_KEY_HEADER);
    const keyIssues: ValidationIssue[] =
      idempotencyKey !== undefined &&
      (idempotencyKey.length === 0 || idempotencyKey.length > IDEMPOTENCY_KEY_MAX_LENGTH)
        ? [
            {
              loc: ["header", IDEMPOTENCY_KEY_HEADER],
              msg: `String should have 1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} characters`,
              type: idempotencyKey.length === 0 ? "string_too_short" : "string_too_long",
            },
          ]
        : [];
    const context = { request_id: requestId, organization_id: organizationId, key_id: keyId };
    if (!body.ok || keyIssues.length > 0) {
      recordOutcome(deps, "invalid_body", context);
      return httpResponses.validationError([...(body.ok ? [] : body.issues), ...keyIssues], requestId);
    }
    const result = await createBulkStop(
      body.body,
      { organizationId, createdBy: keyId, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) },
      deps,
    );
    if (result.kind === "dry_run") {
      recordOutcome(deps, "bulk_stop_dry_run", context);
      return json(200, { dry_run: true, scope: result.scope, matched: result.matched }, requestId);
    }
    recordOutcome(deps, `bulk_stop_${result.kind}`, { ...context, stop_id: result.view.stop_id });
    if (result.kind === "created")
      deps.logger.info("bulk stop created", { stop_id: result.view.stop_id, matched: result.view.matched });
    return json(202, result.view, requestId);
  }

  async function read(
    event: APIGatewayProxyEvent,
    organizationId: string,
    requestId: string,
    endHold: boolean,
  ): Promise<APIGatewayProxyResult> {
    const context = { request_id: requestId, organization_id: organizationId };
    const stopId = taskIdSchema.safeParse(event.pathParameters?.stop_id);
    if (!stopId.success) {
      recordOutcome(deps, "invalid_stop_id", context);
      return httpResponses.validationError([invalidStopIdIssue], requestId);
    }
    const bulkStop = await deps.store.get(stopId.data);
    if (!bulkStop) {
      recordOutcome(deps, "not_found", { ...context, stop_id: stopId.data });
      return notFound(requestId);
    }
    // Tenancy before anything of it is read out or changed.
    if (bulkStop.organization_id !== organizationId) {
      recordOutcome(deps, "forbidden", { ...context, stop_id: stopId.data });
      return forbidden(requestId);
    }
    const now = formatTimestamp(deps.now());
    recordOutcome(deps, endHold ? "bulk_stop_hold_ended" : "bulk_stop_read", { ...context, stop_id: stopId.data });
    if (!endHold) return json(200, bulkStopView(bulkStop, now), requestId);
    await deps.store.endHold(bulkStop.stop_id, organizationId, now);
    const after = await deps.store.get(bulkStop.stop_id);
    return json(200, bulkStopView(after ?? bulkStop, now), requestId);
  }

  return async (event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> => {
    const requestId = event.requestContext?.requestId ?? context.awsRequestId;
    deps.logger.appendKeys({ request_id: requestId });
    try {
      const principal = await deps.authorize(singleHeader(event, API_KEY_HEADER));
      if (!principal) {
        recordOutcome(deps, "unauthorized", { request_id: requestId });
        return httpResponses.unauthorized(requestId);
      }
      deps.logger.appendKeys({ organization_id: principal.organizationId, key_id: principal.keyId });
      if (event.httpMethod === "POST") return await create(event, principal.organizationId, principal.keyId, requestId);
      return await read(event, principal.organizationId, requestId, event.httpMethod === "DELETE");
    } catch (error) {
      return recordFailure(deps, undefined, error) === "unavailable"
        ? httpResponses.serviceUnavailable(requestId)
        : httpResponses.internalError(requestId);
    }
  };
}
