import type { APIGatewayProxyResult } from "aws-lambda";
import * as z from "zod/mini";
import type { AgentExecution } from "../execution.js";

/**
 * HTTP bodies in the shape FastAPI clients already parse: `{"detail": "..."}`, and for 422 a
 * list of `{loc, msg, type}`. Every `detail` reads well on its own, since some clients show it raw.
 */

export const REQUEST_ID_HEADER = "x-request-id";
/** Seconds a caller should wait before retrying when a dependency is unavailable. */
export const RETRY_AFTER_SECONDS = 1;

export const errorBodySchema = z.object({ detail: z.string() });

export const validationIssueSchema = z.object({
  loc: z.array(z.union([z.string(), z.number()])),
  msg: z.string(),
  type: z.string(),
});
export type ValidationIssue = z.infer<typeof validationIssueSchema>;

export const validationErrorBodySchema = z.object({ detail: z.array(validationIssueSchema) });

function json(
  statusCode: number,
  body: unknown,
  requestId: string,
  extraHeaders: Record<string, string> = {},
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { "content-type": "application/json", [REQUEST_ID_HEADER]: requestId, ...extraHeaders },
    body: JSON.stringify(body),
  };
}

export const httpResponses = {
  ok: (execution: AgentExecution, requestId: string) => json(200, execution, requestId),
  unauthorized: (requestId: string) => json(401, { detail: "Invalid or missing API key" }, requestId),
  forbidden: (requestId: string) => json(403, { detail: "Task belongs to a different organization" }, requestId),
  notFound: (requestId: string) => json(404, { detail: "Task not found" }, requestId),
  validationError: (issues: readonly ValidationIssue[], requestId: string) => json(422, { detail: issues }, requestId),
  serviceUnavailable: (requestId: string) =>
    json(503, { detail: "Service temporarily unavailable, please retry" }, requestId, {
      "retry-after": String(RETRY_AFTER_SECONDS),
    }),
  internalError: (requestId: string) => json(500, { detail: "Internal server error" }, requestId),
} as const;

export const invalidTaskIdIssue: ValidationIssue = {
  loc: ["path", "task_id"],
  msg: "Input should be a valid UUID",
  type: "uuid_parsing",
};
