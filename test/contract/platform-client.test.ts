import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { executionStatuses } from "../../lib/execution.js";
import { anExecution, FACTORY_WORKER_ID } from "../support/factories.js";
import { callApi, type RouteStyle, routeStyles, useInProcessApi } from "../support/in-process-api.js";
import { drainQueue, putItem, workerQueueUrl } from "../support/local-aws.js";
import {
  credentialKeys,
  explicitlySentKeys,
  mcpCredentialKeys,
  platformClientTaskModel,
} from "./platform-client-model.js";

const KEY = `sk-contract-${randomUUID()}`;
const served = useInProcessApi(KEY, { workers: ["worker-2", FACTORY_WORKER_ID] });

type Style = RouteStyle;

const call = (route: readonly [string, string], key: string | undefined = KEY) => callApi(served.api, route, key);

const everyField = {
  internal_status: "waiting on approval",
  started_at: "2026-11-25T10:00:01.000Z",
  paused_at: "2026-11-25T10:01:00.000Z",
  result: "partial",
  last_executed_node_id: "node-9",
  agent_version: "7",
  parent_execution: randomUUID(),
  sub_executions: [randomUUID()],
  finished_sub_executions: [],
  payload_extension: { channel: "slack" },
  hitl_request: { wait_node_id: "node-4", question: "ok?" },
  pending_eca_request: { connector_name: "gmail", auth_url: "https://auth.example" },
  source: "api",
  worker_id: "worker-2",
  additional_context: "ctx",
  instructions_override: "be brief",
  expected_output: "a table",
  test_run_node_id: "node-1",
  is_orchestration: true,
  output_format: "json",
  voice_id: "voice-1",
  output_schema: { type: "object" },
  events_streaming: true,
  used_mutating_tools: false,
  is_continuous: false,
  mcp_servers: [
    {
      type: "remote",
      name: "search",
      url: "https://mcp.example",
      transport: "sse",
      auth_type: "none",
      allowed_tools: ["find"],
    },
  ],
  triggering_agent_id: "agent-parent",
  title: "Quarterly report",
  think_mode: "harder",
  model_provider: "anthropic",
  model_name: "claude-sonnet",
  llm_reasoning_effort: "xhigh",
  disable_attachment_injection: false,
  deep_planning: {
    enabled: true,
    enforce: false,
    started: true,
    question_raised: false,
    tasks: [{ id: "t1", title: "plan", completed: false }],
  },
  execution_attempts: 2,
  return_metrics: true,
  tokens: { completion_tokens: 10, prompt_tokens: 20 },
  used_tools: ["find"],
  duration: 12.5,
  input: { text: "go", files: ["a.pdf"], user: { id: "u1", email: "u1@example.com" } },
};

const records = {
  "every optional field set": () => anExecution({ ...everyField, status: "paused" }),
  "no optional field": () => ({
    id: randomUUID(),
    agent_id: "agent-bare",
    organization_id: "org-a",
    status: "executing",
    created_at: "2026-11-25T10:00:00.000Z",
  }),
  "credentials inside": () =>
    anExecution({
      user_oidc_token: "oidc-SECRET",
      user_tokens: { github: "gh-SECRET" },
      mcp_servers: [
        {
          name: "crm",
          type: "remote",
          auth_type: "api_key",
          api_key: "mcp-SECRET",
          client_secret: "cs-SECRET",
          client_id: "public-id",
        },
      ],
    }),
};

function expectClientParses(text: string) {
  const body = JSON.parse(text);
  const parsed = platformClientTaskModel.safeParse(body);
  expect(parsed.error?.issues ?? []).toEqual([]);
  for (const key of explicitlySentKeys) expect(body).toHaveProperty(key);
  for (const key of credentialKeys) expect(body).not.toHaveProperty(key);
  for (const server of body.mcp_servers) for (const key of mcpCredentialKeys) expect(server).not.toHaveProperty(key);
  expect(text).not.toContain("SECRET");
  return body;
}

describe.each(Object.keys(routeStyles) as Style[])("the platform client's model parses %s route responses", (style) => {
  const routesOf = routeStyles[style];

  it.each(Object.keys(records) as (keyof typeof records)[])(
    "for a record with %s, from Get and from Stop",
    async (kind) => {
      const execution = records[kind]();
      await putItem(served.aws.dynamoDb, served.aws.resources.tables.executions, execution);

      const got = await call(routesOf.get(execution.id));
      expect(got.status).toBe(200);
      expectClientParses(got.text);

      const stopped = await call(routesOf.stop(execution.id));
      expect(stopped.status).toBe(200);
      expect(expectClientParses(stopped.text)).toMatchObject({ status: "stopped" });
      await drainQueue(served.aws.sqs, workerQueueUrl(served.aws, "worker-2"));
    },
  );

  it.each(executionStatuses)("for a %s record", async (status) => {
    const execution = anExecution({ status });
    await putItem(served.aws.dynamoDb, served.aws.resources.tables.executions, execution);
    const got = await call(routesOf.get(execution.id));
    expect(expectClientParses(got.text)).toMatchObject({ status });
  });
});

describe("documented and compatibility routes answer alike, row by row of the reference's status table", () => {
  const rows = [
    { row: "200 stopped now", status: "executing", organization: "org-a", key: KEY, expected: 200 },
    { row: "200 already terminal", status: "completed", organization: "org-a", key: KEY, expected: 200 },
    { row: "401 invalid key", status: "executing", organization: "org-a", key: "sk-invalid", expected: 401 },
    { row: "403 other organization", status: "executing", organization: "org-b", key: KEY, expected: 403 },
    { row: "404 unknown task", status: undefined, organization: "org-a", key: KEY, expected: 404 },
    { row: "422 malformed id", status: "malformed", organization: "org-a", key: KEY, expected: 422 },
  ] as const;

  it.each(rows)("$row", async ({ status, organization, key, expected }) => {
    await drainQueue(served.aws.sqs, workerQueueUrl(served.aws)); // what earlier tests sent
    const results: Record<string, { stop: { status: number; text: string }; get: { status: number; text: string } }> =
      {};
    for (const style of Object.keys(routeStyles) as Style[]) {
      let id: string = randomUUID();
      if (status === "malformed") id = "not-a-uuid";
      else if (status) {
        const execution = anExecution({
          id,
          status,
          organization_id: organization,
          finished_at: status === "completed" ? "2026-11-25T10:05:00.000Z" : undefined,
        });
        // Same record under each style, so the bodies can be compared byte for byte (but the id).
        await putItem(served.aws.dynamoDb, served.aws.resources.tables.executions, {
          ...execution,
          agent_id: "agent-same",
          created_at: "2026-11-25T10:00:00.000Z",
        });
      }
      const stop = await call(routeStyles[style].stop(id), key);
      const get = await call(routeStyles[style].get(id), key);
      const normalise = (text: string) =>
        text.replaceAll(id, "<id>").replace(/"(finished_at|stopped_at)":"[^"]+"/g, '"$1":"<time>"');
      results[style] = {
        stop: { status: stop.status, text: normalise(stop.text) },
        get: { status: get.status, text: normalise(get.text) },
      };
    }
    expect(results.documented?.stop.status).toBe(expected);
    expect(results.compatibility).toEqual(results.documented);
    const messages = await drainQueue(served.aws.sqs, workerQueueUrl(served.aws));
    expect(messages).toHaveLength(expected === 200 && status === "executing" ? 2 : 0);
  });
});
