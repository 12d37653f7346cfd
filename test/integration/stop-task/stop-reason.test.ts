import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { stopMessageSchema } from "../../../lib/signals/stop-message.js";
import { anExecution, aStopRequest } from "../../support/factories.js";
import {
  drainQueue,
  getStoredItem,
  type LocalAws,
  provisionIsolatedStack,
  putItem,
  storeApiKey,
  workerQueueUrl,
} from "../../support/local-aws.js";
import { type StopTaskHarness, stopTaskHarness } from "../../support/stop-task-harness.js";

const ORG_A_KEY = `sk-org-a-${randomUUID()}`;

let aws: LocalAws;
let service: StopTaskHarness;

beforeAll(async () => {
  aws = await provisionIsolatedStack();
  await storeApiKey(aws, { key: ORG_A_KEY, organizationId: "org-a", keyId: "key-a" });
  service = stopTaskHarness(aws);
});

async function seed(overrides: Parameters<typeof anExecution>[0] = {}) {
  const execution = anExecution(overrides);
  await putItem(aws.dynamoDb, aws.resources.tables.executions, execution);
  return execution;
}

const stored = (id: string) => getStoredItem(aws.dynamoDb, aws.resources.tables.executions, id);
const fleetMessages = () => drainQueue(aws.sqs, workerQueueUrl(aws));

describe("a reason from the caller", () => {
  it("is stored as stop_note, returned in the record and carried in the stop message; stop_reason stays the machine code", async () => {
    const execution = await seed();

    const response = await service.http(
      aStopRequest(execution.id, ORG_A_KEY, [], {
        body: JSON.stringify({ reason: "Wrong prompt, rerunning with the fixed one" }),
      }),
    );

    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({
      status: "stopped",
      stop_reason: "user_requested",
      stop_note: "Wrong prompt, rerunning with the fixed one",
    });
    expect(await stored(execution.id)).toMatchObject({
      stop_reason: "user_requested",
      stop_note: "Wrong prompt, rerunning with the fixed one",
    });
    const messages = await fleetMessages();
    expect(messages.map((message) => stopMessageSchema.parse(JSON.parse(message.Body ?? "")))).toEqual([
      expect.objectContaining({
        task_id: execution.id,
        reason: "user_requested",
        note: "Wrong prompt, rerunning with the fixed one",
      }),
    ]);
  });

  it.each([
    ["no body", { body: null }],
    ["an empty body", { body: "" }],
    ["no Content-Type", { body: null, contentType: null }],
    ["an empty body without Content-Type", { body: "", contentType: null }],
    ["a form Content-Type (curl -d)", { body: "", contentType: "application/x-www-form-urlencoded" }],
  ])("stops exactly as before with %s: no note", async (_case, options) => {
    const execution = await seed({ stop_note: null });

    const response = await service.http(aStopRequest(execution.id, ORG_A_KEY, [], options));

    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({
      status: "stopped",
      stop_reason: "user_requested",
      stop_note: null,
    });
    expect((await stored(execution.id))?.stop_note).toBeUndefined();
    expect(await fleetMessages()).toHaveLength(1);
  });

  it("reads a JSON body sent with curl's default form Content-Type", async () => {
    const execution = await seed();
    const response = await service.http(
      aStopRequest(execution.id, ORG_A_KEY, [], {
        body: '{"reason":"budget spent"}',
        contentType: "application/x-www-form-urlencoded",
      }),
    );
    expect(JSON.parse(response.body)).toMatchObject({ status: "stopped", stop_note: "budget spent" });
    await fleetMessages();
  });

  it("costs the same two AWS calls as a stop without a body", async () => {
    const execution = await seed();
    await service.http(aStopRequest(randomUUID(), ORG_A_KEY)); // warms the key cache
    service.counter.reset();

    await service.http(aStopRequest(execution.id, ORG_A_KEY, [], { body: '{"reason": "done"}' }));

    expect(service.counter.calls).toEqual(["UpdateItemCommand", "SendMessageCommand"]);
    await fleetMessages();
  });

  it("leaves an already terminal task as it is, note included", async () => {
    const execution = await seed({ status: "completed", finished_at: "2026-11-25T10:05:00.000Z" });
    const before = await stored(execution.id);

    const response = await service.http(aStopRequest(execution.id, ORG_A_KEY, [], { body: '{"reason": "too late"}' }));

    expect(JSON.parse(response.body)).toMatchObject({ status: "completed", stop_note: null });
    expect(await stored(execution.id)).toEqual(before);
  });
});

describe("422: a malformed body, checked after the key, changes nothing", () => {
  it.each([
    ["malformed JSON", "{reason: stop}", [{ loc: ["body"], msg: "JSON decode error", type: "json_invalid" }]],
    [
      "a list",
      "[1]",
      [
        {
          loc: ["body"],
          msg: "Input should be a valid dictionary or object to extract fields from",
          type: "model_attributes_type",
        },
      ],
    ],
    [
      "a reason that is not a string",
      '{"reason": ["x"]}',
      [{ loc: ["body", "reason"], msg: "Input should be a valid string", type: "string_type" }],
    ],
    [
      "an empty reason",
      '{"reason": ""}',
      [{ loc: ["body", "reason"], msg: "String should have at least 1 character", type: "string_too_short" }],
    ],
    [
      "a reason over 500 characters",
      JSON.stringify({ reason: "r".repeat(501) }),
      [{ loc: ["body", "reason"], msg: "String should have at most 500 characters", type: "string_too_long" }],
    ],
  ])("refuses %s", async (_case, body, detail) => {
    const execution = await seed();
    const before = await stored(execution.id);

    const response = await service.http(aStopRequest(execution.id, ORG_A_KEY, [], { body }));

    expect(response.statusCode).toBe(422);
    expect(JSON.parse(response.body)).toEqual({ detail });
    expect(await stored(execution.id)).toEqual(before);
    expect(await fleetMessages()).toEqual([]);
  });

  it("says 401, not 422, for a malformed body without a valid key", async () => {
    const execution = await seed();
    const response = await service.http(aStopRequest(execution.id, "sk-unknown", [], { body: "{" }));
    expect(response.statusCode).toBe(401);
  });

  it("reports a malformed task id and a malformed body together", async () => {
    const response = await service.http(aStopRequest("not-a-uuid", ORG_A_KEY, [], { body: '{"reason": 1}' }));
    expect(response.statusCode).toBe(422);
    expect(JSON.parse(response.body).detail.map((issue: { loc: unknown[] }) => issue.loc)).toEqual([
      ["path", "task_id"],
      ["body", "reason"],
    ]);
  });
});
