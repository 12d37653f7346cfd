/**
 * Errors that mean "a dependency is unavailable right now": throttling, a 5xx, a timeout or a
 * refused connection, after the SDK's own retries. The caller should retry; nothing was changed.
 */
const throttlingErrorNames = new Set([
  "ThrottlingException",
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "LimitExceededException",
]);

const networkErrorCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
]);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

export function isDependencyUnavailable(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const candidate = error as SdkErrorShape;
  if (typeof candidate.name === "string") {
    if (throttlingErrorNames.has(candidate.name)) return true;
    if (candidate.name === "TimeoutError" || candidate.name === "AbortError") return true;
  }
  if (typeof candidate.code === "string" && networkErrorCodes.has(candidate.code)) return true;
  const status = candidate.$metadata?.httpStatusCode;
  if (typeof status === "number" && status >= 500) return true;
  return candidate.$retryable !== undefined && candidate.$retryable !== null;
}
