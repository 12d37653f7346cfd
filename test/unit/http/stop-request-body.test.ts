import { describe, expect, it } from "vitest";
import { readStopRequestBody } from "../../../lib/http/stop-request-body.js";

const read = (body: string | null, isBase64Encoded = false) => readStopRequestBody({ body, isBase64Encoded });

describe("the stop's optional body", () => {
  it.each([
    ["no body", null],
    ["an empty body", ""],
    ["a blank body", " \n\t"],
    ["a JSON null", "null"],
    ["an empty object", "{}"],
    ["a null reason", '{"reason": null}'],
    ["only fields it does not know", '{"force": true}'],
  ])("reads %s as a stop without a note", (_case, body) => {
    expect(read(body)).toEqual({ ok: true, body: {} });
  });

  it("reads the reason as the stop's note, verbatim", () => {
    expect(read('{"reason": "  wrong prompt\\nrerunning  ", "extra": 1}')).toEqual({
      ok: true,
      body: { note: "  wrong prompt\nrerunning  " },
    });
  });

  it("reads a base64-encoded body as API Gateway passes binary media types", () => {
    expect(read(Buffer.from('{"reason": "budget"}').toString("base64"), true)).toEqual({
      ok: true,
      body: { note: "budget" },
    });
  });

  it("counts characters, not UTF-16 units: 500 emoji are a valid reason, 501 are not", () => {
    expect(read(JSON.stringify({ reason: "🛑".repeat(500) }))).toMatchObject({ ok: true });
    expect(read(JSON.stringify({ reason: "🛑".repeat(501) }))).toMatchObject({ ok: false });
  });

  it.each([
    ["malformed JSON", '{"reason": ', { loc: ["body"], msg: "JSON decode error", type: "json_invalid" }],
    [
      "an array",
      '["stop"]',
      {
        loc: ["body"],
        msg: "Input should be a valid dictionary or object to extract fields from",
        type: "model_attributes_type",
      },
    ],
    [
      "a bare string",
      '"stop"',
      {
        loc: ["body"],
        msg: "Input should be a valid dictionary or object to extract fields from",
        type: "model_attributes_type",
      },
    ],
    [
      "a number reason",
      '{"reason": 42}',
      { loc: ["body", "reason"], msg: "Input should be a valid string", type: "string_type" },
    ],
    [
      "an empty reason",
      '{"reason": ""}',
      { loc: ["body", "reason"], msg: "String should have at least 1 character", type: "string_too_short" },
    ],
    [
      "a reason of 501 characters",
      JSON.stringify({ reason: "x".repeat(501) }),
      { loc: ["body", "reason"], msg: "String should have at most 500 characters", type: "string_too_long" },
    ],
  ])("refuses %s with FastAPI's issue", (_case, body, issue) => {
    expect(read(body)).toEqual({ ok: false, issues: [issue] });
  });
});
