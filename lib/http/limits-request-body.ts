import type { APIGatewayProxyEvent } from "aws-lambda";
import { type Limits, limitMaximums, limitNames, limitsSchema } from "../limits.js";
import type { ValidationIssue } from "./responses.js";
import { type RequestBodyRead, readRequiredJsonBody } from "./stop-request-body.js";

/**
 * The body of `PUT /v1/tasks/{task_id}/limits`: `{"max_tokens": N, "max_duration_seconds": N,
 * "max_tool_calls": N}`, each optional, a non-negative integer up to its maximum (`limitMaximums`:
 * 10 years for a duration) or null (unset). It replaces the
 * task's own limits: a limit left out is unset, and the organization's default applies to it.
 * Required; every issue is reported at once in FastAPI's shape, and nothing is changed.
 * Unknown fields are ignored, as pydantic does by default.
 */

/** The body as the OpenAPI document describes it. */
export const limitsRequestBodySchema = limitsSchema;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function readLimitsRequestBody(
  event: Pick<APIGatewayProxyEvent, "body" | "isBase64Encoded">,
): RequestBodyRead<Limits> {
  const json = readRequiredJsonBody(event);
  if (!json.ok) return json;
  const value = json.body;
  if (!isPlainObject(value)) {
    return {
      ok: false,
      issues: [
        {
          loc: ["body"],
          msg: "Input should be a valid dictionary or object to extract fields from",
          type: "model_attributes_type",
        },
      ],
    };
  }
  const issues: ValidationIssue[] = [];
  const limits: { [name in (typeof limitNames)[number]]?: number | null } = {};
  for (const name of limitNames) {
    const field = value[name];
    if (field === undefined || field === null) {
      limits[name] = null;
    } else if (typeof field !== "number" || !Number.isInteger(field) || !Number.isSafeInteger(field)) {
      issues.push({ loc: ["body", name], msg: "Input should be a valid integer", type: "int_type" });
    } else if (field < 0) {
      issues.push({
        loc: ["body", name],
        msg: "Input should be greater than or equal to 0",
        type: "greater_than_equal",
      });
    } else if (field > limitMaximums[name]) {
      issues.push({
        loc: ["body", name],
        msg: `Input should be less than or equal to ${limitMaximums[name]}`,
        type: "less_than_equal",
      });
    } else {
      limits[name] = field;
    }
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, body: limits };
}
