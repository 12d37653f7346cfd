import type { APIGatewayProxyEvent } from "aws-lambda";
import * as z from "zod/mini";
import type { ValidationIssue } from "./responses.js";

/**
 * The stop's optional body, `{"reason": "..."}`: the caller's own words on why, stored as
 * `stop_note` (the record's `stop_reason` stays the machine code). The stop works as before with
 * no body, an empty one, or `null`, whatever the Content-Type (curl's `-d` sends a form type); a
 * body that is there but malformed is a 422 in FastAPI's shape, and nothing is changed.
 */

export const STOP_NOTE_MIN_LENGTH = 1;
export const STOP_NOTE_MAX_LENGTH = 500;

/**
 * The body as the OpenAPI document describes it. Lengths count characters (code points), as JSON Schema and pydantic
 * do.
 */
export const stopRequestBodySchema = z.object({
  reason: z.optional(
    z.nullable(z.string().check(z.minLength(STOP_NOTE_MIN_LENGTH), z.maxLength(STOP_NOTE_MAX_LENGTH))),
  ),
});

export interface StopRequestBody {
  /** Absent when the caller gave no reason. */
  readonly note?: string;
}

export type RequestBodyRead<Body> =
  | { readonly ok: true; readonly body: Body }
  | { readonly ok: false; readonly issues: readonly ValidationIssue[] };

const invalid = (issue: ValidationIssue): RequestBodyRead<never> => ({ ok: false, issues: [issue] });

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function readStopRequestBody(
  event: Pick<APIGatewayProxyEvent, "body" | "isBase64Encoded">,
): RequestBodyRead<StopRequestBody> {
  if (event.body === null || event.body === undefined) return { ok: true, body: {} };
  const text = event.isBase64Encoded ? Buffer.from(event.body, "base64").toString("utf8") : event.body;
  if (text.trim() === "") return { ok: true, body: {} };

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return invalid({ loc: ["body"], msg: "JSON decode error", type: "json_invalid" });
  }
  // FastAPI reads a JSON null for an optional body as no body at all.
  if (value === null) return { ok: true, body: {} };
  if (!isPlainObject(value)) {
    return invalid({
      loc: ["body"],
      msg: "Input should be a valid dictionary or object to extract fields from",
      type: "model_attributes_type",
    });
  }
  // Unknown fields are ignored, as pydantic does by default.
  const reason = Object.hasOwn(value, "reason") ? value.reason : undefined;
  if (reason === undefined || reason === null) return { ok: true, body: {} };
  if (typeof reason !== "string")
    return invalid({ loc: ["body", "reason"], msg: "Input should be a valid string", type: "string_type" });
  const length = [...reason].length;
  if (length < STOP_NOTE_MIN_LENGTH) {
    return invalid({
      loc: ["body", "reason"],
      msg: `String should have at least ${STOP_NOTE_MIN_LENGTH} character`,
      type: "string_too_short",
    });
  }
  if (length > STOP_NOTE_MAX_LENGTH) {
    return invalid({
      loc: ["body", "reason"],
      msg: `String should have at most ${STOP_NOTE_MAX_LENGTH} characters`,
      type: "string_too_long",
    });
  }
  return { ok: true, body: { note: reason } };
}

/**
 * A required JSON body, decoded as API Gateway hands it over (base64 or not): FastAPI's `missing` for no body, an
 * empty one or `null`, and `json_invalid` for one that is not JSON. Whatever the value is, the route's reader judges.
 */
export function readRequiredJsonBody(
  event: Pick<APIGatewayProxyEvent, "body" | "isBase64Encoded">,
): RequestBodyRead<unknown> {
  const text =
    event.body === null || event.body === undefined
      ? ""
      : event.isBase64Encoded
        ? Buffer.from(event.body, "base64").toString("utf8")
        : event.body;
  const missing: RequestBodyRead<never> = {
    ok: false,
    issues: [{ loc: ["body"], msg: "Field required", type: "missing" }],
  };
  if (text.trim() === "") return missing;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return invalid({ loc: ["body"], msg: "JSON decode error", type: "json_invalid" });
  }
  return value === null ? missing : { ok: true, body: value };
}
