import { describe, expect, it } from "vitest";
import { agentExecutionSchema, isTerminal, taskIdSchema } from "../../lib/execution.js";

const minimal = {
  id: "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e",
  agent_id: "agent-1",
  organization_id: "org-a",
  status: "executing",
  created_at: "2026-11-25T11:00:00.000Z",
};

describe("agentExecutionSchema", () => {
  it("gives a record that predates most fields every key, with the client's explicit defaults", () => {
    const record = agentExecutionSchema.parse(minimal);
    expect(record).toMatchObject({
      input: {},
      is_manually_stopped: false,
      expected_output: null,
      triggering_agent_id: null,
      title: null,
      mcp_servers: [],
      finished_at: null,
      model_provider: null,
    });
    expect(Object.keys(record)).toContain("llm_reasoning_effort");
    expect(record).not.toHaveProperty("configuration");
  });

  it("drops internal bookkeeping and credentials", () => {
    const record = agentExecutionSchema.parse({
      ...minimal,
      version: 4,
      signal_pending_since: "2026-11-25T11:00:00.000Z",
      user_oidc_token: "secret",
      user_tokens: { a: "secret" },
      mcp_servers: [{ name: "m", api_key: "secret", client_secret: "secret" }],
    });
    expect(JSON.stringify(record)).not.toContain("secret");
    expect(record).not.toHaveProperty("version");
    expect(record).not.toHaveProperty("signal_pending_since");
  });

  it.each([
    ["an unknown status", { status: "sleeping" }],
    ["a timestamp that is not one", { created_at: "yesterday" }],
    ["an impossible date", { started_at: "2026-02-30T10:00:00Z" }],
    ["a status outside the seven", { status: "ERROR" }],
    ["a numeric string field", { title: 42 }],
    ["a reasoning effort outside the list", { llm_reasoning_effort: "extreme" }],
  ])("rejects a record with %s", (_, override) => {
    expect(agentExecutionSchema.safeParse({ ...minimal, ...override }).success).toBe(false);
  });
});

describe("agentExecutionSchema, on records the platform's Python writers store", () => {
  it.each([
    ["pydantic JSON (aware UTC)", "2026-12-01T09:00:00.123456Z"],
    ["datetime.isoformat()", "2026-12-01T09:00:00.123456+00:00"],
    ["a naive datetime, read as UTC", "2026-12-01T09:00:00.123456"],
    ["str(datetime), with a space", "2026-12-01 09:00:00.123456+00:00"],
    ["another offset", "2026-12-01T10:00:00.123456+01:00"],
    ["nanoseconds", "2026-12-01T09:00:00.123456789Z"],
  ])("returns %s in the canonical form", (_, stored) => {
    const record = agentExecutionSchema.parse({ ...minimal, created_at: stored, stopped_at: stored });
    expect(record.created_at).toBe("2026-12-01T09:00:00.123456Z");
    expect(record.stopped_at).toBe("2026-12-01T09:00:00.123456Z");
  });

  it("reads an explicit null in every optional field as unset", () => {
    const optionalKeys = Object.keys(agentExecutionSchema.shape).filter((key) => !(key in minimal));
    const record = agentExecutionSchema.parse({
      ...minimal,
      ...Object.fromEntries(optionalKeys.map((key) => [key, null])),
    });
    expect(record).toMatchObject({
      input: {},
      is_manually_stopped: false,
      mcp_servers: [],
      started_at: null,
      title: null,
    });
  });

  it("reads nested nulls and whole-number floats for integer fields", () => {
    const record = agentExecutionSchema.parse({
      ...minimal,
      input: { text: null, files: null, user: null },
      execution_attempts: 2.0,
      tokens: { completion_tokens: 10.0, prompt_tokens: null },
      deep_planning: { enabled: null, tasks: [{ id: "t1", title: "plan", completed: null }] },
    });
    expect(record).toMatchObject({ execution_attempts: 2, tokens: { completion_tokens: 10, prompt_tokens: null } });
  });
});

describe("taskIdSchema", () => {
  it("lower-cases a UUID", () => {
    expect(taskIdSchema.parse("5B6C7D8E-9F0A-4B1C-8D2E-3F4A5B6C7D8E")).toBe("5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e");
  });

  it.each(["", "nope", "5b6c7d8e9f0a4b1c8d2e3f4a5b6c7d8e0", "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e/../x"])(
    "rejects %j",
    (value) => {
      expect(taskIdSchema.safeParse(value).success).toBe(false);
    },
  );
});

describe("isTerminal", () => {
  it("knows exactly the reference's terminal states", () => {
    expect(["pending", "executing", "paused", "error", "failed", "completed", "stopped"].filter(isTerminal)).toEqual([
      "failed",
      "completed",
      "stopped",
    ]);
  });
});
