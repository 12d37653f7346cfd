import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { livenessIndexKeys } from "../../../lib/executions/indexes.js";
import { dynamoWorkerExecutionUpdates } from "../../../lib/worker/execution-updates.js";
import { fakeTask } from "../../../lib/worker/reference-worker.js";
import { referenceWorker } from "../../support/cleanup-harness.js";
import { aStopRequest, anExecution } from "../../support/factories.js";
import { drainQueue, getStoredItem, type LocalAws, localDynamoDbClient, provisionIsolatedStack, putItem, storeApiKey } from "../../support/local-aws.js";
import { stopTaskHarness } from "../../support/stop-task-harness.js";

const KEY = `sk-worker-${randomUUID()}`;
let aws: LocalAws;

beforeAll(async () => {
  aws = await provisionIsolatedStack();
  await storeApiKey(aws, { key: KEY, organizationId: "org-a", keyId: "key-a" });
});

async function seedRunning(overrides: Parameters<typeof anExecution>[0] = {}) {
  const execution = anExecution({ status: "executing", worker_id: "worker-1", started_at: new Date().toISOString(), ...overrides });
  await putItem(aws.dynamoDb, aws.resources.tables.executions, { ...execution, ...livenessIndexKeys(execution) });
  return execution;
}

const stored = (id: string) => getStoredItem(aws.dynamoDb, aws.resources.tables.executions, id);

describe("the reference worker", () => {
  it("receives the stop, aborts the task through its AbortSignal, acknowledges and deletes the message", async () => {
    const execution = await seedRunning();
    const worker = referenceWorker(aws, "worker-1");
    let sawAbort = false;
    const run = worker.run(execution.id, async (signal) => {
      signal.addEventListener("abort", () => (sawAbort = true));
      return fakeTask(1_000, 20)(signal);
    });

    expect((await stopTaskHarness(aws).http(aStopRequest(execution.id, KEY))).statusCode).toBe(200);
    expect(await worker.pollOnce(2)).toBe(1);

    expect(await run).toBe("stopped");
    expect(sawAbort).toBe(true);
    expect(await stored(execution.id)).toMatchObject({ status: "stopped", stop_acknowledged_by: "worker-1" });
    expect(await drainQueue(aws.sqs, aws.resources.queues.stop_signals)).toEqual([]);
  });

  it("learns of a stop through its heartbeat when the message never reaches it", async () => {
    const execution = await seedRunning({ worker_id: "worker-2" });
    const worker = referenceWorker(aws, "worker-2");
    const run = worker.run(execution.id, fakeTask(1_000, 20));
    await stopTaskHarness(aws).http(aStopRequest(execution.id, KEY));
    // The message is lost on purpose (another consumer took it).
    await drainQueue(aws.sqs, aws.resources.queues.stop_signals, { waitSeconds: 1 });

    expect(await run).toBe("stopped");
    await expect.poll(async () => (await stored(execution.id))?.stop_acknowledged_by, { timeout: 5_000 }).toBe("worker-2");
  });

  it("releases a stop meant for another worker, untouched, for that worker to take", async () => {
    const execution = await seedRunning({ worker_id: "worker-9" });
    await stopTaskHarness(aws).http(aStopRequest(execution.id, KEY));

    expect(await referenceWorker(aws, "worker-3").pollOnce(1)).toBe(0);
    expect(await stored(execution.id)).not.toHaveProperty("stop_acknowledged_at");
    expect(await referenceWorker(aws, "worker-9").pollOnce(1)).toBe(1);
    expect(await stored(execution.id)).toMatchObject({ stop_acknowledged_by: "worker-9" });
  });

  it("completes a task that finishes, leaving the liveness indexes", async () => {
    const execution = await seedRunning({ worker_id: "worker-4" });
    expect(await referenceWorker(aws, "worker-4").run(execution.id, fakeTask(2, 5))).toBe("completed");
    const item = await stored(execution.id);
    expect(item).toMatchObject({ status: "completed", result: "finished 2 steps" });
    expect(item).not.toHaveProperty("idx_active_shard");
  });
});

describe("a self-hosted environment's consumer of the asset-command channel", () => {
  it("takes only its own environment's commands", async () => {
    const ours = await seedRunning({ worker_id: "onprem-1", environment_id: "env-ours" });
    const theirs = await seedRunning({ worker_id: "onprem-2", environment_id: "env-theirs" });
    const stopFunction = stopTaskHarness(aws);
    await stopFunction.http(aStopRequest(ours.id, KEY));
    await stopFunction.http(aStopRequest(theirs.id, KEY));

    const consumer = referenceWorker(aws, "agent-ours", { environmentId: "env-ours" });
    let handled = 0;
    for (let round = 0; round < 5; round += 1) handled += await consumer.pollOnce(1);

    expect(handled).toBe(1);
    expect(await stored(ours.id)).toMatchObject({ stop_acknowledged_by: "env-ours" });
    expect(await stored(theirs.id)).not.toHaveProperty("stop_acknowledged_at");
    expect(await referenceWorker(aws, "agent-theirs", { environmentId: "env-theirs" }).pollOnce(1)).toBe(1);
  });
});

describe("worker-side writes", () => {
  const updates = () => dynamoWorkerExecutionUpdates(localDynamoDbClient(), aws.resources.tables.executions);

  it("refuses a completion after a stop, and a stop after a completion", async () => {
    const stoppedFirst = await seedRunning({ worker_id: "worker-5" });
    await stopTaskHarness(aws).http(aStopRequest(stoppedFirst.id, KEY));
    expect(await updates().complete(stoppedFirst.id, "worker-5", "done")).toEqual({ kind: "already_terminal", status: "stopped" });
    const afterRace = await stored(stoppedFirst.id);
    expect(afterRace).toMatchObject({ status: "stopped" });
    expect(afterRace).not.toHaveProperty("result");

    const completedFirst = await seedRunning({ worker_id: "worker-5" });
    expect(await updates().complete(completedFirst.id, "worker-5", "done")).toEqual({ kind: "finished" });
    const response = await stopTaskHarness(aws).http(aStopRequest(completedFirst.id, KEY));
    expect(JSON.parse(response.body)).toMatchObject({ status: "completed", result: "done", is_manually_stopped: false });
    await drainQueue(aws.sqs, aws.resources.queues.stop_signals);
  });

  it("answers heartbeats with stop_requested once stopped, and refuses another worker's heartbeat", async () => {
    const execution = await seedRunning({ worker_id: "worker-6" });
    expect(await updates().heartbeat(execution.id, "worker-6")).toBe("alive");
    expect(await updates().heartbeat(execution.id, "worker-7")).toBe("not_running");
    await stopTaskHarness(aws).http(aStopRequest(execution.id, KEY));
    expect(await updates().heartbeat(execution.id, "worker-6")).toBe("stop_requested");
    expect(await updates().acknowledgeStop(randomUUID(), "worker-6")).toBe("not_found");
    await drainQueue(aws.sqs, aws.resources.queues.stop_signals);
  });
});
