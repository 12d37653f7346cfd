import { describe, expect, it } from "vitest";
import { gatewayAnswerResponse, gatewayResponseDefinition } from "../../../lib/http/gateway-answers.js";
import { GATEWAY_MESSAGE, gatewayAnswers } from "../../../lib/resources.js";

describe("rendering a gateway answer", () => {
  it("refuses a fixed detail the mapping template would interpret ($ and # start Velocity references and directives)", () => {
    for (const detail of ["costs $5", "see #3", "back\\slash"]) {
      expect(() => gatewayResponseDefinition({ when: "test", status: 400, detail })).toThrow(
        "mapping template would interpret",
      );
    }
  });

  it("quotes a fixed detail as JSON inside the template", () => {
    const { templates } = gatewayResponseDefinition({ when: "test", status: 400, detail: 'say "no"' });
    expect(JSON.parse(templates["application/json"] ?? "")).toEqual({ detail: 'say "no"' });
  });

  it("writes a catch-all with the status and message it caught, and refuses to write one without", () => {
    const response = gatewayAnswerResponse(gatewayAnswers.DEFAULT_4XX, "req-1", {
      status: 400,
      message: "Bad Request",
    });
    expect(response).toEqual({
      statusCode: 400,
      headers: { "content-type": "application/json", "x-request-id": "req-1" },
      body: '{"detail":"Bad Request"}',
    });
    expect(() => gatewayAnswerResponse({ when: "test", detail: GATEWAY_MESSAGE }, "req-2")).toThrow(
      "needs the status and message",
    );
  });
});
