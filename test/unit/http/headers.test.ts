import { describe, expect, it } from "vitest";
import { singleHeader } from "../../../lib/http/headers.js";

describe("singleHeader", () => {
  it("matches the name case-insensitively", () => {
    expect(
      singleHeader({ headers: { "X-API-Key": "k1" }, multiValueHeaders: { "X-API-Key": ["k1"] } }, "x-api-key"),
    ).toBe("k1");
  });

  it("accepts the same value repeated", () => {
    expect(
      singleHeader({ headers: { "x-api-key": "k1" }, multiValueHeaders: { "x-api-key": ["k1", "k1"] } }, "x-api-key"),
    ).toBe("k1");
  });

  it("refuses different values, whatever case each name is in", () => {
    expect(
      singleHeader(
        {
          headers: { "x-api-key": "k1", "X-Api-Key": "k2" },
          multiValueHeaders: { "x-api-key": ["k1"], "X-Api-Key": ["k2"] },
        },
        "x-api-key",
      ),
    ).toBeUndefined();
  });

  it("is undefined when absent", () => {
    expect(singleHeader({ headers: {}, multiValueHeaders: {} }, "x-api-key")).toBeUndefined();
  });
});
