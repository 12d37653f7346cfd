import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { createDynamoDbClient, createSqsClient } from "../../../lib/aws/clients.js";
import { stopMessageSchema } from "../../../lib/signals/stop-message.js";
import { capturedLogLines } from "../../support/capture-logs.js";
import { anExecution, aStopRequest } from "../../support/factories.js";
import {
  drainQueue,
  environmentQueue,
  getStoredItem,
  type LocalAws,
  provisionIsolatedStack,
  putItem,
  storeApiKey,
  unreachableEndpoint,
  workerQueue,
} from "../../support/local-aws.js";
import { type StopTaskHarness, stopTaskHarness } from "../../support/stop-task-harness.js";

const ORG_A_KEY = `sk-org-a-${randomUUID()}`;
const ORG_B_KEY = `sk-org-b-${randomUUID()}`;
const REVOKED_KEY = `sk-revoked-${randomUUID()}`;
const EXPIRED_KEY = `sk-expired-${randomUUID()}`;

let aws: LocalAws;
let service: StopTaskHarness;
/**
 * The own queues of the factory's worker and of the one environment these tests use, made as their owners make them.
 */
let fleetQueue: string;
let environmentQueueUrl: string;

beforeAll(async () => {
  aws = await provisionIsolatedStack();
  await Promise.all([
    storeApiKey(aws, { key: ORG_A_KEY, organizationId: "org-a", keyId: "key-a" }),
    storeApiKey(aws, { key: ORG_B_KEY, organizationId: "org-b", keyId: "key-b" }),
    storeApiKey(aws, { key: REVOKED_KEY, organizationId: "org-a", keyId: "key-revoked", status: "revoked" }),
    storeApiKey(aws, {
      key: EXPIRED_KEY,
      organizationId: "org-a",
      keyId: "key-expired",
      expiresAt: "2020-01-01T00:00:00.000Z",
    }),
  ]);
  service = stopTaskHarness(aws);
  [fleetQueue, environmentQueueUrl] = await Promise.all([
    workerQueue(aws, "worker-7"),
    environmentQueue(aws, "env-factory-floor"),
  ]);
});

async function seed(overrides: Parameters<typeof anExecution>[0] = {}) {
  const execution = anExecution(overrides);
  await putItem(aws.dynamoDb, aws.resources.tables.executions, execution);
  return execution;
}

const stored = (id: string) => getStoredItem(aws.dynamoDb, aws.resources.tables.executions, id);
const fleetMessages = () => drainQueue(aws.sqs, fleetQueue);
const environmentMessages = () => drainQueue(aws.sqs, environmentQueueUrl);

/** Asserts a rejected request left the item and both queues exactly as they were. */
async function expectNothingChanged(id: string, before: Record<string, unknown> | undefined) {
  expect(await stored(id)).toEqual(before);
  expect(await fleetMessages()).toEqual([]);
  expect(await environmentMessages()).toEqual([]);
}

describe("200: stops a running task", () => {
  it.each(["pending", "executing", "paused", "error"] as const)(
    "moves a %s execution to stopped and signals its worker",
    async (status) => {
      const execution = await seed({
        status,
        model_provider: "anthropic",
        model_name: "claude",
        llm_reasoning_effort: "high",
      });

      const response = await service.http(aStopRequest(execution.id, ORG_A_KEY));

      expect(response.statusCode).toBe(200);
      expect(response.headers?.["x-request-id"]).toBeTruthy();
      const body = JSON.parse(response.body);
      expect(body).toMatchObject({
        id: execution.id,
        agent_id: execution.agent_id,
        organization_id: "org-a",
        status: "stopped",
        is_manually_stopped: true,
        stopped_by: "key-a",
        stop_reason: "user_requested",
        worker_id: "worker-7",
        model_provider: "anthropic",
        model_name: "claude",
        llm_reasoning_effort: "high",
        expected_output: null,
        triggering_agent_id: null,
        title: null,
        mcp_servers: [],
      });
      expect(body.finished_at).toBe(body.stopped_at);
      // The canonical form every timestamp is written and returned in (lib/timestamp.ts).
      expect(body.finished_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
      for (const internal of ["version", "updated_at", "signal_pending_since"])
        expect(body).not.toHaveProperty(internal);

      const item = await stored(execution.id);
      expect(item).toMatchObject({ status: "stopped", is_manually_stopped: true, version: 1, stopped_by: "key-a" });
      expect(item?.updated_at).toBe(body.finished_at);
      expect(item).not.toHaveProperty("signal_pending_since");

      const messages = await fleetMessages();
      expect(messages).toHaveLength(1);
      const message = stopMessageSchema.parse(JSON.parse(messages[0]?.Body ?? ""));
      expect(message).toEqual({
        type: "task.stop",
        version: 1,
        task_id: execution.id,
        organization_id: "org-a",
        agent_id: execution.agent_id,
        worker_id: "worker-7",
        environment_id: null,
        is_manually_stopped: true,
        requested_at: body.stopped_at,
        requested_by: "key-a",
        reason: "user_requested",
        note: null,
      });
      expect(messages[0]?.MessageAttributes?.worker_id?.StringValue).toBe("worker-7");
      expect(messages[0]?.MessageAttributes?.type?.StringValue).toBe("task.stop");
      expect(messages[0]?.MessageAttributes).not.toHaveProperty("environment_id");
      expect(await environmentMessages()).toEqual([]);
    },
  );

  it("writes one EMF line per request that is both the outcome metric and the request's record", async () => {
    const execution = await seed();
    const response = await service.http(aStopRequest(execution.id, ORG_A_KEY));

    const lines = capturedLogLines().filter((line) => line.includes('"_aws"') && line.includes(execution.id));
    expect(lines).toHaveLength(1);
    const record = JSON.parse(lines[0] ?? "{}");
    expect(record).toMatchObject({
      outcome: "stopped",
      Outcome_stopped: 1,
      task_id: execution.id,
      organization_id: "org-a",
      key_id: "key-a",
      request_id: response.headers?.["x-request-id"],
    });
    expect(record._aws.CloudWatchMetrics[0].Metrics).toEqual([{ Name: "Outcome_stopped", Unit: "Count" }]);
    await fleetMessages();
  });

  it("accepts an upper-case task id for a task stored in lower case", async () => {
    const execution = await seed();
    const response = await service.http(aStopRequest(execution.id.toUpperCase(), ORG_A_KEY));
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body).id).toBe(execution.id);
    expect(await fleetMessages()).toHaveLength(1);
  });

  it("routes a self-hosted execution's stop through the asset-command channel, naming its environment", async () => {
    const execution = await seed({ environment_id: "env-factory-floor" });

    const response = await service.http(aStopRequest(execution.id, ORG_A_KEY));

    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body).environment_id).toBe("env-factory-floor");
    expect(await fleetMessages()).toEqual([]);
    const messages = await environmentMessages();
    expect(messages).toHaveLength(1);
    expect(JSON.parse(messages[0]?.Body ?? "")).toMatchObject({
      task_id: execution.id,
      environment_id: "env-factory-floor",
    });
    expect(messages[0]?.MessageAttributes?.environment_id?.StringValue).toBe("env-factory-floor");
  });

  it("never returns credentials a stored record holds", async () => {
    const execution = await seed({
      user_oidc_token: "oidc-secret",
      user_tokens: { github: "gh-secret" },
      mcp_servers: [
        {
          name: "search",
          type: "remote",
          url: "https://mcp.example",
          api_key: "mcp-secret",
          client_secret: "cs-secret",
        },
      ],
    });
    const response = await service.http(aStopRequest(execution.id, ORG_A_KEY));
    expect(response.statusCode).toBe(200);
    expect(response.body).not.toMatch(/secret/);
    expect(JSON.parse(response.body).mcp_servers).toEqual([
      expect.objectContaining({ name: "search", url: "https://mcp.example" }),
    ]);
    await fleetMessages();
  });
});

describe("200: idempotent on terminal tasks", () => {
  it.each(["completed", "failed", "stopped"] as const)(
    "returns a %s execution exactly as it was, sending nothing",
    async (status) => {
      const execution = await seed({ status, finished_at: "2026-11-25T10:05:00.000Z", result: "done", version: 3 });
      const before = await stored(execution.id);

      const response = await service.http(aStopRequest(execution.id, ORG_A_KEY));

      expect(response.statusCode).toBe(200);
      expect(JSON.parse(response.body)).toMatchObject({
        id: execution.id,
        status,
        finished_at: "2026-11-25T10:05:00.000000Z",
        is_manually_stopped: false,
      });
      await expectNothingChanged(execution.id, before);
    },
  );

  it("answers a second stop with a byte-identical body and no second message", async () => {
    const execution = await seed();
    const first = await service.http(aStopRequest(execution.id, ORG_A_KEY));
    const afterFirst = await stored(execution.id);
    const second = await service.http(aStopRequest(execution.id, ORG_A_KEY));

    expect(second.statusCode).toBe(200);
    expect(second.body).toBe(first.body);
    expect(await stored(execution.id)).toEqual(afterFirst);
    expect(await fleetMessages()).toHaveLength(1);
  });
});

describe("401: unauthorized, before anything else", () => {
  it.each([
    ["missing", undefined],
    ["unknown", `sk-unknown-${randomUUID()}`],
    ["revoked", REVOKED_KEY],
    ["expired", EXPIRED_KEY],
    ["empty", ""],
    ["oversized", "k".repeat(10_000)],
  ])("rejects a %s key and changes nothing", async (_, key) => {
    const execution = await seed();
    const before = await stored(execution.id);

    const response = await service.http(aStopRequest(execution.id, key));

    expect(response.statusCode).toBe(401);
    expect(JSON.parse(response.body)).toEqual({ detail: "Invalid or missing API key" });
    expect(response.headers?.["x-request-id"]).toBeTruthy();
    await expectNothingChanged(execution.id, before);
  });

  it("rejects an ambiguous key sent twice with different values", async () => {
    const execution = await seed();
    const before = await stored(execution.id);
    const response = await service.http(aStopRequest(execution.id, ORG_A_KEY, [["X-Api-Key", ORG_B_KEY]]));
    expect(response.statusCode).toBe(401);
    await expectNothingChanged(execution.id, before);
  });

  it("says 401, not 422, for a malformed task id without a valid key", async () => {
    const response = await service.http(aStopRequest("not-a-uuid", undefined));
    expect(response.statusCode).toBe(401);
  });

  it("says 401, not 404, for an unknown task without a valid key", async () => {
    const response = await service.http(aStopRequest(randomUUID(), `sk-unknown-${randomUUID()}`));
    expect(response.statusCode).toBe(401);
  });
});

describe("403: task belongs to a different organization", () => {
  it("refuses another organization's task and changes nothing", async () => {
    const execution = await seed({ organization_id: "org-a" });
    const before = await stored(execution.id);

    const response = await service.http(aStopRequest(execution.id, ORG_B_KEY));

    expect(response.statusCode).toBe(403);
    expect(JSON.parse(response.body)).toEqual({ detail: "Task belongs to a different organization" });
    expect(response.body).not.toContain(execution.agent_id);
    await expectNothingChanged(execution.id, before);
  });

  it("refuses another organization's terminal task too", async () => {
    const execution = await seed({ organization_id: "org-a", status: "completed" });
    const response = await service.http(aStopRequest(execution.id, ORG_B_KEY));
    expect(response.statusCode).toBe(403);
  });
});

describe("404: task not found", () => {
  it("answers 404 for an unknown task id and creates no item", async () => {
    const taskId = randomUUID();
    const response = await service.http(aStopRequest(taskId, ORG_A_KEY));

    expect(response.statusCode).toBe(404);
    expect(JSON.parse(response.body)).toEqual({ detail: "Task not found" });
    await expectNothingChanged(taskId, undefined);
  });
});

describe("422: malformed task_id", () => {
  it.each(["not-a-uuid", "123", `${randomUUID()}x`, "' OR 1=1 --", "%2F..%2F"])(
    "rejects %j in FastAPI's shape",
    async (taskId) => {
      const response = await service.http(aStopRequest(taskId, ORG_A_KEY));

      expect(response.statusCode).toBe(422);
      expect(JSON.parse(response.body)).toEqual({
        detail: [{ loc: ["path", "task_id"], msg: "Input should be a valid UUID", type: "uuid_parsing" }],
      });
      expect(await fleetMessages()).toEqual([]);
    },
  );
});

describe("nothing lost when the stop signal cannot be sent", () => {
  it("keeps the stop, marks its signal pending, and delivers it on the next stop", async () => {
    const execution = await seed();
    const unreachableSqs = createSqsClient({ ...unreachableEndpoint, maxAttempts: 2 });
    const withoutSqs = stopTaskHarness(aws, { sqs: unreachableSqs });

    const first = await withoutSqs.http(aStopRequest(execution.id, ORG_A_KEY));

    expect(first.statusCode).toBe(200);
    expect(JSON.parse(first.body)).toMatchObject({ status: "stopped", is_manually_stopped: true });
    expect(JSON.parse(first.body)).not.toHaveProperty("signal_pending_since");
    const pending = await stored(execution.id);
    expect(pending).toMatchObject({ status: "stopped", signal_pending_since: JSON.parse(first.body).stopped_at });
    expect(await fleetMessages()).toEqual([]);

    const retry = await service.http(aStopRequest(execution.id, ORG_A_KEY));

    expect(retry.statusCode).toBe(200);
    expect(retry.body).toBe(first.body);
    const messages = await fleetMessages();
    expect(messages).toHaveLength(1);
    expect(JSON.parse(messages[0]?.Body ?? "")).toMatchObject({
      task_id: execution.id,
      requested_at: JSON.parse(first.body).stopped_at,
    });
    expect(await stored(execution.id)).not.toHaveProperty("signal_pending_since");

    const third = await service.http(aStopRequest(execution.id, ORG_A_KEY));
    expect(third.body).toBe(first.body);
    expect(await fleetMessages()).toEqual([]);
  });
});

describe("503: DynamoDB unavailable", () => {
  it("answers 503 with Retry-After and sends nothing", async () => {
    const execution = await seed();
    const unreachableDynamoDb = createDynamoDbClient({ ...unreachableEndpoint, maxAttempts: 2 });
    const withoutDynamoDb = stopTaskHarness(aws, { dynamoDb: unreachableDynamoDb });

    const response = await withoutDynamoDb.http(aStopRequest(execution.id, ORG_A_KEY));

    expect(response.statusCode).toBe(503);
    expect(response.headers?.["retry-after"]).toBe("1");
    expect(JSON.parse(response.body)).toEqual({ detail: "Service temporarily unavailable, please retry" });
    expect(await stored(execution.id)).toMatchObject({ status: "executing" });
    expect(await fleetMessages()).toEqual([]);
  });
});

describe("500: a stored record that breaks the schema", () => {
  it("never becomes a malformed 200", async () => {
    const execution = await seed({ status: "completed", created_at: "yesterday", title: "confidential title" });
    const response = await service.http(aStopRequest(execution.id, ORG_A_KEY));
    expect(response.statusCode).toBe(500);
    expect(JSON.parse(response.body)).toEqual({ detail: "Internal server error" });

    // The log names the task, never the record's contents; the metric is counted with it.
    const logLines = capturedLogLines().filter((line) => line.includes(execution.id));
    const errorLine = logLines.find((line) => line.includes("stored execution does not satisfy the schema"));
    expect(errorLine).toBeDefined();
    expect(JSON.parse(errorLine ?? "{}")).toMatchObject({ level: "ERROR", task_id: execution.id });
    expect(logLines.join("\n")).not.toContain("confidential title");
  });
});

describe("races: 50 concurrent stops of one task", () => {
  it("makes one transition and one message, and every caller gets 200 with the same record", async () => {
    const execution = await seed();
    const callers = Array.from({ length: 50 }, () => stopTaskHarness(aws));

    const responses = await Promise.all(callers.map((caller) => caller.http(aStopRequest(execution.id, ORG_A_KEY))));

    expect(responses.map((response) => response.statusCode)).toEqual(Array(50).fill(200));
    expect(new Set(responses.map((response) => response.body)).size).toBe(1);
    expect(await stored(execution.id)).toMatchObject({ status: "stopped", version: 1 });
    expect(await fleetMessages()).toHaveLength(1);
  });
});

describe("AWS round trips per request", () => {
  it("spends GetItem + UpdateItem + SendMessage on a cold key, then 2 calls for a stop with the key cached", async () => {
    const harness = stopTaskHarness(aws);
    const [cold, warm] = [await seed(), await seed()];

    await harness.http(aStopRequest(cold.id, ORG_A_KEY));
    expect(harness.counter.calls).toEqual(["GetItemCommand", "UpdateItemCommand", "SendMessageCommand"]);

    harness.counter.reset();
    await harness.http(aStopRequest(warm.id, ORG_A_KEY));
    expect(harness.counter.calls).toEqual(["UpdateItemCommand", "SendMessageCommand"]);
    await fleetMessages();
  });

  it("spends exactly one UpdateItem on terminal, 403 and 404 with the key cached", async () => {
    const harness = stopTaskHarness(aws);
    await harness.http(aStopRequest(randomUUID(), ORG_A_KEY));
    const terminal = await seed({ status: "failed" });
    const foreign = await seed({ organization_id: "org-b" });

    for (const taskId of [terminal.id, foreign.id, randomUUID()]) {
      harness.counter.reset();
      await harness.http(aStopRequest(taskId, ORG_A_KEY));
      expect(harness.counter.calls).toEqual(["UpdateItemCommand"]);
    }
  });

  it("spends no call on a missing key or a 422 and at most one on an unknown key", async () => {
    const harness = stopTaskHarness(aws);
    await harness.http(aStopRequest(randomUUID(), undefined));
    expect(harness.counter.calls).toEqual([]);
    await harness.http(aStopRequest(randomUUID(), `sk-unknown-${randomUUID()}`));
    expect(harness.counter.calls).toEqual(["GetItemCommand"]);
    harness.counter.reset();
    await harness.http(aStopRequest(randomUUID(), ORG_A_KEY));
    harness.counter.reset();
    await harness.http(aStopRequest("nope", ORG_A_KEY));
    expect(harness.counter.calls).toEqual([]);
  });
});
