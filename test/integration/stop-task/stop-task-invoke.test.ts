import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { anExecution, aStopRequest } from "../../support/factories.js";
import {
  drainQueue,
  getStoredItem,
  type LocalAws,
  provisionIsolatedStack,
  putItem,
  storeApiKey,
  workerQueue,
} from "../../support/local-aws.js";
import { type StopTaskHarness, stopTaskHarness } from "../../support/stop-task-harness.js";

let aws: LocalAws;
let service: StopTaskHarness;
/** The factory's worker's own queue. */
let fleetQueue: string;

beforeAll(async () => {
  aws = await provisionIsolatedStack();
  service = stopTaskHarness(aws);
  fleetQueue = await workerQueue(aws, "worker-7");
});

async function seed(overrides: Parameters<typeof anExecution>[0] = {}) {
  const execution = anExecution(overrides);
  await putItem(aws.dynamoDb, aws.resources.tables.executions, execution);
  return execution;
}

const systemStop = (taskId: string) => ({
  action: "stop_task",
  task_id: taskId,
  reason: "stale_heartbeat",
  requested_by: "system:cleanup",
});

describe("direct invocation by trusted internal callers", () => {
  it("stops as a system termination: not manual, with reason and requester recorded and signalled", async () => {
    const execution = await seed({ organization_id: "org-any" });

    const result = await service.invoke(systemStop(execution.id));

    expect(result).toMatchObject({
      ok: true,
      outcome: "stopped",
      execution: {
        id: execution.id,
        status: "stopped",
        is_manually_stopped: false,
        stop_reason: "stale_heartbeat",
        stopped_by: "system:cleanup",
      },
    });
    expect(await getStoredItem(aws.dynamoDb, aws.resources.tables.executions, execution.id)).toMatchObject({
      status: "stopped",
      is_manually_stopped: false,
      stopped_by: "system:cleanup",
    });
    const messages = await drainQueue(aws.sqs, fleetQueue);
    expect(messages.map((message) => JSON.parse(message.Body ?? "{}"))).toEqual([
      expect.objectContaining({
        task_id: execution.id,
        is_manually_stopped: false,
        reason: "stale_heartbeat",
        requested_by: "system:cleanup",
      }),
    ]);
  });

  it("returns a terminal execution unchanged", async () => {
    const execution = await seed({ status: "completed" });
    const result = await service.invoke(systemStop(execution.id));
    expect(result).toMatchObject({ ok: true, outcome: "unchanged", execution: { status: "completed" } });
    expect(await drainQueue(aws.sqs, fleetQueue)).toEqual([]);
  });

  it("gives a typed not_found error for an unknown task and creates nothing", async () => {
    const taskId = randomUUID();
    expect(await service.invoke(systemStop(taskId))).toEqual({
      ok: false,
      error: { type: "not_found", message: "Task not found" },
    });
    expect(await getStoredItem(aws.dynamoDb, aws.resources.tables.executions, taskId)).toBeUndefined();
  });

  it.each([
    ["a malformed task id", { action: "stop_task", task_id: "nope", reason: "x", requested_by: "y" }],
    ["a missing reason", { action: "stop_task", task_id: randomUUID(), requested_by: "y" }],
    ["an unknown action", { action: "delete_everything", task_id: randomUUID(), reason: "x", requested_by: "y" }],
    ["an empty event", {}],
  ])("gives a typed validation_error for %s", async (_, event) => {
    expect(await service.invoke(event)).toMatchObject({ ok: false, error: { type: "validation_error" } });
  });

  it("does not let a shaped-like-HTTP event without a key through the invoke path", async () => {
    const execution = await seed();
    const { httpMethod, requestContext, ...rest } = aStopRequest(execution.id);
    // Missing either marker makes it an invocation, which then fails validation: never a stop.
    expect(await service.invoke({ ...rest, httpMethod })).toMatchObject({
      ok: false,
      error: { type: "validation_error" },
    });
    expect(await service.invoke({ ...rest, requestContext })).toMatchObject({
      ok: false,
      error: { type: "validation_error" },
    });
    expect(await getStoredItem(aws.dynamoDb, aws.resources.tables.executions, execution.id)).toMatchObject({
      status: "executing",
    });
  });
});

describe("the composition root (functions/stop-task/handler.ts)", () => {
  it("reads its configuration from the environment and serves a stop against the emulators", async () => {
    const key = `sk-${randomUUID()}`;
    await storeApiKey(aws, { key, organizationId: "org-root", keyId: "key-root" });
    const execution = await seed({ organization_id: "org-root" });
    Object.assign(process.env, {
      EXECUTIONS_TABLE_NAME: aws.resources.tables.executions,
      API_KEYS_TABLE_NAME: aws.resources.tables.api_keys,
      WORKER_QUEUE_URL_PREFIX: aws.resources.signal_channels.workers.url_prefix,
      ENVIRONMENT_QUEUE_URL_PREFIX: aws.resources.signal_channels.environments.url_prefix,
      DYNAMODB_ENDPOINT: inject("dynamoDbEndpoint"),
      SQS_ENDPOINT: inject("sqsEndpoint"),
    });
    const { handler } = await import("../../../functions/stop-task/handler.js");
    const { aLambdaContext } = await import("../../support/factories.js");

    const response = (await handler(aStopRequest(execution.id, key), aLambdaContext())) as {
      statusCode: number;
      body: string;
    };

    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ status: "stopped", stopped_by: "key-root" });
    expect(await drainQueue(aws.sqs, fleetQueue)).toHaveLength(1);
  });
});
