import { describe, expect, it } from "vitest";
import { isDependencyUnavailable } from "../../../lib/aws/errors.js";

describe("isDependencyUnavailable", () => {
  it.each([
    ["throttling", { name: "ThrottlingException" }],
    ["provisioned throughput", { name: "ProvisionedThroughputExceededException" }],
    ["request limit", { name: "RequestLimitExceeded" }],
    ["a 5xx", { name: "InternalServerError", $metadata: { httpStatusCode: 500 } }],
    ["a socket timeout", { name: "TimeoutError" }],
    ["a refused connection", Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })],
    ["anything the SDK marks retryable", { name: "Whatever", $retryable: {} }],
  ])("treats %s as unavailable", (_, error) => {
    expect(isDependencyUnavailable(error)).toBe(true);
  });

  it.each([
    ["a validation error", { name: "ValidationException", $metadata: { httpStatusCode: 400 } }],
    ["access denied", { name: "AccessDeniedException", $metadata: { httpStatusCode: 400 } }],
    ["a plain bug", new TypeError("x is undefined")],
    ["not an object", "boom"],
    ["null", null],
  ])("does not treat %s as unavailable", (_, error) => {
    expect(isDependencyUnavailable(error)).toBe(false);
  });
});
