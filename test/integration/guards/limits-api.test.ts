import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toApiGatewayProxyEvent } from "../../../infra/local/api-gateway-event.js";
import { type ExecutionStreamHarness, startExecutionStream } from "../../support/execution-stream-harness.js";
import { anExecution } from "../../support/factories.js";
import { getStoredItem, type LocalAws, provisionIsolatedStack, putItem, storeApiKey } from "../../support/local-aws.js";
import { rememberSecret } from "../../support/secret-registry.js";
import { type StopTaskHarness, stopTaskHarness } from "../../support/stop-task-harness.js";
import { drainEvents, drainStopMessages, eventually } from "../../support/task-tree.js";

const ORG_A_KEY = `sk-org-a-${randomUUID()}`;
const ORG_B_KEY = `sk-org-b-${randomUUID()}`;

let aws: LocalAws;
let service: StopTaskHarness;
let stream: ExecutionStreamHarness;

beforeAll(async () => {
  aws = await provisionIsolatedStack();
  await storeApiKey(aws, { key: ORG_A_KEY, organizationId: "org-a", keyId: "key-a" });
  await storeApiKey(aws, { key: ORG_B_KEY, organizationId: "org-b", keyId: "key-b" });
  service = stopTaskHarness(aws);
  stream = await startExecutionStream(aws);
});

afterAll(async () => {
  await stream?.stop();
});

function aLimitsRequest(taskId: string, apiKey: string | undefined, body: unknown) {
  rememberSecret(apiKey);
  return toApiGatewayProxyEvent({
    method: "PUT",
    path: `/v1/tasks/${encodeURIComponent(taskId)}/limits`,
    resource: "/v1/tasks/{task_id}/limits",
    pathParameters: { task_id: taskId },
    rawHeaders: [
      ...(apiKey === undefined ? [] : [["x-api-key", apiKey] as [string, string]]),
      ["content-type", "application/json"],
    ],
    body: body === undefined ? null : typeof body === "string" ? body : JSON.stringify(body),
    stage: "test",
  });
}

const stored = (id: string) => getStoredItem(aws.dynamoDb, aws.resources.tables.executions, id);

async function aRunningTask(fields: Record<string, unknown> = {}): Promise<string> {
  const execution = anExecution(fields);
  await putItem(aws.dynamoDb, aws.resources.tables.executions, execution);
  return execution.id as string;
}

describe("PUT /v1/tasks/{task_id}/limits", () => {
  it("sets the task's own limits and returns the execution with them; unset ones are null", async () => {
    const taskId = await aRunningTask();
    const response = await service.http(aLimitsRequest(taskId, ORG_A_KEY, { max_tokens: 5000, max_tool_calls: 10 }));
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({
      id: taskId,
      status: "executing",
      limits: { max_tokens: 5000, max_tool_calls: 10, max_duration_seconds: null },
    });
    const record = await stored(taskId);
    expect(record).toMatchObject({ limits: { max_tokens: 5000, max_tool_calls: 10, max_duration_seconds: null } });
    expect(JSON.parse(response.body)).not.toHaveProperty("limits_set_at");
  });

  it(
    "answers 401 before anything else, 422 for a bad id and body together, " +
      "404 and 403 as stop does, and changes nothing on any refusal",
    async () => {
      const taskId = await aRunningTask({ tokens: { prompt_tokens: 10, completion_tokens: 10 } });
      await stream.settled();
      const before = await stored(taskId);

      const unauthorized = await service.http(aLimitsRequest("not-a-uuid", undefined, "{"));
      expect(unauthorized.statusCode).toBe(401);
      expect(JSON.parse(unauthorized.body)).toEqual({ detail: "Invalid or missing API key" });
      expect((await service.http(aLimitsRequest(taskId, "sk-wrong", { max_tokens: 1 }))).statusCode).toBe(401);

      const invalid = await service.http(
        aLimitsRequest("not-a-uuid", ORG_A_KEY, { max_tokens: -1, max_tool_calls: 1.5 }),
      );
      expect(invalid.statusCode).toBe(422);
      expect(JSON.parse(invalid.body).detail.map((issue: { loc: string[] }) => issue.loc.join("."))).toEqual([
        "path.task_id",
        "body.max_tokens",
        "body.max_tool_calls",
      ]);
      for (const body of [undefined, "{", "[1]", { max_tokens: "100" }]) {
        expect((await service.http(aLimitsRequest(taskId, ORG_A_KEY, body))).statusCode, JSON.stringify(body)).toBe(
          422,
        );
      }

      const missing = await service.http(aLimitsRequest(randomUUID(), ORG_A_KEY, { max_tokens: 1 }));
      expect(missing.statusCode).toBe(404);
      expect(JSON.parse(missing.body)).toEqual({ detail: "Task not found" });
      const foreign = await service.http(aLimitsRequest(taskId, ORG_B_KEY, { max_tokens: 1 }));
      expect(foreign.statusCode).toBe(403);
      expect(JSON.parse(foreign.body)).toEqual({ detail: "Task belongs to a different organization" });

      await stream.settled();
      expect(await stored(taskId)).toEqual(before);
      expect((await drainStopMessages(aws)).filter((message) => message.task_id === taskId)).toEqual([]);
    },
  );

  it("answers 422 for a max_duration_seconds above 10 years (315,360,000 s), and changes nothing", async () => {
    const taskId = await aRunningTask();
    await stream.settled();
    const before = await stored(taskId);

    const refused = await service.http(aLimitsRequest(taskId, ORG_A_KEY, { max_duration_seconds: 9007199254740991 }));

    expect(refused.statusCode).toBe(422);
    expect(JSON.parse(refused.body)).toEqual({
      detail: [
        {
          loc: ["body", "max_duration_seconds"],
          msg: "Input should be less than or equal to 315360000",
          type: "less_than_equal",
        },
      ],
    });
    await stream.settled();
    expect(await stored(taskId)).toEqual(before);
    const atTheBound = await service.http(aLimitsRequest(taskId, ORG_A_KEY, { max_duration_seconds: 315360000 }));
    expect(atTheBound.statusCode).toBe(200);
  });

  it("stops a task that already spent more than the new limit, once, as the token guard", async () => {
    const taskId = await aRunningTask({ tokens: { prompt_tokens: 300, completion_tokens: 200 } });
    await stream.settled();
    const response = await service.http(aLimitsRequest(taskId, ORG_A_KEY, { max_tokens: 400 }));
    expect(response.statusCode).toBe(200);
    await eventually(async () => expect(await stored(taskId)).toMatchObject({ status: "stopped" }), {
      timeoutMs: 2_000,
    });
    await stream.settled();
    expect(await stored(taskId)).toMatchObject({
      stop_reason: "token_limit_exceeded",
      stopped_by: "guard:token_limit",
      is_manually_stopped: false,
    });
    const messages = (await drainStopMessages(aws)).filter((message) => message.task_id === taskId);
    expect(messages.map((message) => message.limit)).toEqual([{ limit_name: "max_tokens", limit: 400, usage: 500 }]);
    const events = (await drainEvents(aws)).filter(
      (event) => event.detail.task_id === taskId && event["detail-type"] === "Task Stopped",
    );
    expect(events).toHaveLength(1);
  });
});
