import type { APIGatewayProxyEvent } from "aws-lambda";
import type * as z from "zod/mini";
import { type BulkStopRequest, bulkStopRequestSchema } from "../bulk-stop/scope.js";
import type { ValidationIssue } from "./responses.js";
import { type RequestBodyRead, readRequiredJsonBody } from "./stop-request-body.js";

/**
 * The body of `POST /v1/stops` (lib/bulk-stop/scope.ts): required; every issue reported at once in FastAPI's shape,
 * and nothing is changed. Unknown fields of the scope are refused (`extra_forbidden`): in a request that stops many
 * tasks, a misspelt `agent_id` must not silently widen the scope.
 */

/** zod's issue codes in the words pydantic uses for the same thing. */
const pydanticTypes: Readonly<Record<string, string>> = {
  invalid_value: "enum",
  too_small: "too_short",
  too_big: "too_long",
  invalid_format: "value_error",
};

const expectedTypes: Readonly<Record<string, readonly [type: string, message: string]>> = {
  string: ["string_type", "Input should be a valid string"],
  boolean: ["bool_type", "Input should be a valid boolean"],
  int: ["int_type", "Input should be a valid integer"],
  number: ["int_type", "Input should be a valid integer"],
  array: ["list_type", "Input should be a valid list"],
  object: ["model_attributes_type", "Input should be a valid dictionary or object to extract fields from"],
};

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value;
  for (const part of path) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}

function toValidationIssues(error: z.core.$ZodError, input: unknown): ValidationIssue[] {
  return error.issues.flatMap((issue): ValidationIssue[] => {
    const loc = ["body", ...issue.path.map((part) => (typeof part === "symbol" ? String(part) : part))];
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({
        loc: [...loc, key],
        msg: "Extra inputs are not permitted",
        type: "extra_forbidden",
      }));
    }
    if (issue.code === "invalid_type") {
      if (valueAt(input, issue.path) === undefined) return [{ loc, msg: "Field required", type: "missing" }];
      const [type, msg] = expectedTypes[issue.expected] ?? ["type_error", issue.message];
      return [{ loc, msg, type }];
    }
    const custom = issue.code === "custom" ? (issue.params as { type?: string } | undefined)?.type : undefined;
    return [{ loc, msg: issue.message, type: custom ?? pydanticTypes[issue.code] ?? issue.code }];
  });
}

export function readBulkStopRequestBody(
  event: Pick<APIGatewayProxyEvent, "body" | "isBase64Encoded">,
): RequestBodyRead<BulkStopRequest> {
  const json = readRequiredJsonBody(event);
  if (!json.ok) return json;
  const value = json.body;
  const parsed = bulkStopRequestSchema.safeParse(value);
  return parsed.success
    ? { ok: true, body: parsed.data }
    : { ok: false, issues: toValidationIssues(parsed.error, value) };
}
