import type { APIGatewayProxyEvent } from "aws-lambda";

/** Where a caller sends its API key (the gateway, the OpenAPI document and the typed client all name it). */
export const API_KEY_HEADER = "x-api-key";

/**
 * A header's value, matched case-insensitively, or undefined when it is absent or sent more than
 * once with different values (an ambiguous credential is treated as no credential).
 */
export function singleHeader(
  event: Pick<APIGatewayProxyEvent, "headers" | "multiValueHeaders">,
  name: string,
): string | undefined {
  const wanted = name.toLowerCase();
  const values = new Set<string>();
  for (const [key, multi] of Object.entries(event.multiValueHeaders ?? {})) {
    if (key.toLowerCase() === wanted) for (const value of multi ?? []) values.add(value);
  }
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted && value !== undefined) values.add(value);
  }
  if (values.size !== 1) return undefined;
  const [only] = values;
  return only;
}
