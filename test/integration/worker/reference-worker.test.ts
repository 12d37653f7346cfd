import { randomUUID } from "node:crypto";
import { DeleteQueueCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { beforeAll, describe, expect, it } from "vitest";
import { stopTargetSchema } from "../../../lib/execution.js";
import { livenessIndexKeys } from "../../../lib/executions/indexes.js";
import { buildStopMessage } from "../../../lib/signals/publisher.js";
import { dynamoWorkerExecutionUpdates } from "../../../lib/worker/execution-updates.js";
import { fakeTask } from "../../../lib/worker/reference-worker.js";
import { referenceWorker } from "../../support/cleanup-harness.js";
import { anExecution, aStopRequest } from "../../support/factories.js";
import {
  drainQueue,
  getStoredItem,
  type LocalAws,
  localDynamoDbClient,
  provisionIsolatedStack,
  putItem,
  storeApiKey,
} from "../../support/local-aws.js";
import { stopTaskHarness } from "../../support/stop-task-harness.js";

const KEY = `sk-worker-${randomUUID()}`;
let aws: LocalAws;

beforeAll(async () => {
  aws = await provisionIsolatedStack();
  await storeApiKey(aws, { key: KEY, organizationId: "org-a", keyId: "key-a" });
});

async function seedRunning(overrides: Parameters<typeof anExecution>[0] = {}) {
  const execution = anExecution({
    status: "executing",
    worker_id: "worker-1",
    started_at: new Date().toISOString(),
    ...overrides,
  });
  await putItem(aws.dynamoDb, aws.resources.tables.executions, { ...execution, ...livenessIndexKeys(execution) });
  return execution;
}

const stored = (id: string) => getStoredItem(aws.dynamoDb, aws.resources.tables.executions, id);

const stopMessageFor = (execution: ReturnType<typeof anExecution>) =>
  buildStopMessage(stopTargetSchema.parse({ ...execution, is_manually_stopped: true }), {
    requestedAt: new Date().toISOString(),
    requestedBy: "key-a",
    reason: "user_requested",
  });

describe("the reference worker", () => {
  it("receives the stop on its own queue, aborts the task through its AbortSignal, acknowledges and deletes the message", async () => {
    const execution = await seedRunning();
    const worker = referenceWorker(aws, "worker-1");
    const queueUrl = await worker.openQueue();
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
    expect(queueUrl).toBe(`${aws.resources.signal_channels.workers.url_prefix}worker-1`);
    expect(await drainQueue(aws.sqs, queueUrl)).toEqual([]);
  });

  it("learns of a stop through its heartbeat when the message never reaches it", async () => {
    const execution = await seedRunning({ worker_id: "worker-2" });
    const worker = referenceWorker(aws, "worker-2");
    const queueUrl = await worker.openQueue();
    const run = worker.run(execution.id, fakeTask(1_000, 20));
    await stopTaskHarness(aws).http(aStopRequest(execution.id, KEY));
    // The message is lost on purpose (taken by someone else, as if it never arrived).
    expect(await drainQueue(aws.sqs, queueUrl, { waitSeconds: 1 })).toHaveLength(1);

    expect(await run).toBe("stopped");
    await expect
      .poll(async () => (await stored(execution.id))?.stop_acknowledged_by, { timeout: 5_000 })
      .toBe("worker-2");
  });

  it("discards, unacknowledged, a stop on its queue for a task it neither owns nor runs", async () => {
    const execution = await seedRunning({ worker_id: "worker-9" });
    const worker = referenceWorker(aws, "worker-3");
    const queueUrl = await worker.openQueue();
    // Only a misrouting could put it there (say, a copy of this worker's id elsewhere): nobody else reads this queue.
    await stopTaskHarness(aws).http(aStopRequest(execution.id, KEY));
    await aws.sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify({ ...stopMessageFor(execution), worker_id: "worker-9" }),
      }),
    );

    expect(await worker.pollOnce(1)).toBe(0);
    expect(await stored(execution.id)).not.toHaveProperty("stop_acknowledged_at");
    expect(await drainQueue(aws.sqs, queueUrl)).toEqual([]);
  });

  it("makes its queue again when it was deleted while the worker was away", async () => {
    const execution = await seedRunning({ worker_id: "worker-8" });
    const worker = referenceWorker(aws, "worker-8");
    const queueUrl = await worker.openQueue();
    await aws.sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));

    await expect(worker.pollOnce(0)).rejects.toThrow(/does not exist/);
    expect(await worker.openQueue()).toBe(queueUrl);
    await stopTaskHarness(aws).http(aStopRequest(execution.id, KEY));
    expect(await worker.pollOnce(1)).toBe(1);
    expect(await stored(execution.id)).toMatchObject({ stop_acknowledged_by: "worker-8" });
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
  it("receives its environment's commands on its own queue, and never another environment's", async () => {
    const ours = await seedRunning({ worker_id: "onprem-1", environment_id: "env-ours" });
    const theirs = await seedRunning({ worker_id: "onprem-2", environment_id: "env-theirs" });
    const consumer = referenceWorker(aws, "agent-ours", { environmentId: "env-ours" });
    const other = referenceWorker(aws, "agent-theirs", { environmentId: "env-theirs" });
    expect(await consumer.openQueue()).toBe(`${aws.resources.signal_channels.environments.url_prefix}env-ours`);
    await other.openQueue();
    const stopFunction = stopTaskHarness(aws);
    await stopFunction.http(aStopRequest(ours.id, KEY));
    await stopFunction.http(aStopRequest(theirs.id, KEY));

    let handled = 0;
    for (let round = 0; round < 3; round += 1) handled += await consumer.pollOnce(round === 0 ? 1 : 0);

    expect(handled).toBe(1);
    expect(await stored(ours.id)).toMatchObject({ stop_acknowledged_by: "env-ours" });
    expect(await stored(theirs.id)).not.toHaveProperty("stop_acknowledged_at");
    expect(await other.pollOnce(1)).toBe(1);
    expect(await stored(theirs.id)).toMatchObject({ stop_acknowledged_by: "env-theirs" });
  });
});

describe("worker-side writes", () => {
  const updates = () => dynamoWorkerExecutionUpdates(localDynamoDbClient(), aws.resources.tables.executions);

  it("refuses a completion after a stop, and a stop after a completion", async () => {
    const stoppedFirst = await seedRunning({ worker_id: "worker-5" });
    await stopTaskHarness(aws).http(aStopRequest(stoppedFirst.id, KEY));
    expect(await updates().complete(stoppedFirst.id, "worker-5", "done")).toEqual({
      kind: "already_terminal",
      status: "stopped",
    });
    const afterRace = await stored(stoppedFirst.id);
    expect(afterRace).toMatchObject({ status: "stopped" });
    expect(afterRace).not.toHaveProperty("result");

    const completedFirst = await seedRunning({ worker_id: "worker-5" });
    expect(await updates().complete(completedFirst.id, "worker-5", "done")).toEqual({ kind: "finished" });
    const response = await stopTaskHarness(aws).http(aStopRequest(completedFirst.id, KEY));
    expect(JSON.parse(response.body)).toMatchObject({
      status: "completed",
      result: "done",
      is_manually_stopped: false,
    });
  });

  it("answers heartbeats with stop_requested once stopped, and refuses another worker's heartbeat", async () => {
    const execution = await seedRunning({ worker_id: "worker-6" });
    expect(await updates().heartbeat(execution.id, "worker-6")).toBe("alive");
    expect(await updates().heartbeat(execution.id, "worker-7")).toBe("not_running");
    await stopTaskHarness(aws).http(aStopRequest(execution.id, KEY));
    expect(await updates().heartbeat(execution.id, "worker-6")).toBe("stop_requested");
    expect(await updates().acknowledgeStop(randomUUID(), { workerId: "worker-6" })).toBe("not_found");
  });
});
