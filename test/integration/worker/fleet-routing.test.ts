import { randomUUID } from "node:crypto";
import {
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { beforeEach, describe, expect, it } from "vitest";
import { livenessIndexKeys } from "../../../lib/executions/indexes.js";
import { signalQueueUrl } from "../../../lib/signals/queue-names.js";
import { stopMessageSchema } from "../../../lib/signals/stop-message.js";
import { fakeTask, type ReferenceWorker } from "../../../lib/worker/reference-worker.js";
import { cleanupHarness, referenceWorker } from "../../support/cleanup-harness.js";
import { anExecution, aStopRequest } from "../../support/factories.js";
import {
  drainQueue,
  getStoredItem,
  type LocalAws,
  localSqsClient,
  provisionIsolatedStack,
  putItem,
  storeApiKey,
  workerQueue,
} from "../../support/local-aws.js";
import { stopTaskHarness } from "../../support/stop-task-harness.js";

/**
 * docs/stop-delivery.md: each worker has a queue of its own, named from its worker_id; the stop
 * function derives the same name and sends there. These tests run a fleet of reference workers
 * on fauxqs and DynamoDB Local, stop through the real handler, and look at every queue.
 */

const KEY = `sk-fleet-${randomUUID()}`;
let aws: LocalAws;

// A stack of its own for each test: the cleanup runs below sweep whole indexes.
beforeEach(async () => {
  aws = await provisionIsolatedStack();
  await storeApiKey(aws, { key: KEY, organizationId: "org-a", keyId: "key-a" });
});

const stored = (id: string) => getStoredItem(aws.dynamoDb, aws.resources.tables.executions, id);

async function seedRunning(workerId: string | null, overrides: Parameters<typeof anExecution>[0] = {}) {
  const execution = anExecution({
    status: "executing",
    worker_id: workerId,
    started_at: new Date().toISOString(),
    ...overrides,
  });
  await putItem(aws.dynamoDb, aws.resources.tables.executions, { ...execution, ...livenessIndexKeys(execution) });
  return execution;
}

/** Every message an SQS client's ReceiveMessage calls returned, in order. */
function recordReceipts(client: SQSClient): Message[] {
  const received: Message[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === "ReceiveMessageCommand")
        received.push(...((result.output as { Messages?: Message[] }).Messages ?? []));
      return result;
    },
    { step: "initialize", name: "receiptRecorder" },
  );
  return received;
}

async function deadLettered(channel: "workers" | "environments"): Promise<number> {
  const { Attributes } = await aws.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: aws.resources.signal_channels[channel].dead_letter_url,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return (
    Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

describe("a stop in a fleet of workers", () => {
  it("reaches its own worker among 40, and no other worker receives anything", async () => {
    const fleet = Array.from({ length: 40 }, (_, index) => {
      const sqs = localSqsClient();
      const workerId = `fleet-${randomUUID().slice(0, 8)}-${index}`;
      // Heartbeats far apart: what stops these tasks here is the message, not the heartbeat.
      return {
        workerId,
        received: recordReceipts(sqs),
        worker: referenceWorker(aws, workerId, { sqs, heartbeatIntervalMs: 60_000 }),
      };
    });
    await Promise.all(fleet.map(({ worker }) => worker.openQueue()));
    const tasks = await Promise.all(
      fleet.map(async (member) => ({ ...member, execution: await seedRunning(member.workerId) })),
    );
    const runs = tasks.map(({ worker, execution }) => worker.run(execution.id, fakeTask(1_000, 20)));
    const stopped = tasks.filter((_, index) => index % 4 === 0);

    const stopFunction = stopTaskHarness(aws);
    for (const { execution } of stopped) {
      stopFunction.counter.reset();
      expect((await stopFunction.http(aStopRequest(execution.id, KEY))).statusCode).toBe(200);
      expect(stopFunction.counter.calls.slice(-2)).toEqual(["UpdateItemCommand", "SendMessageCommand"]);
    }
    // Every worker polls its own queue, as it does all the time.
    await Promise.all(fleet.map(({ worker }) => worker.pollOnce(1)));

    for (const { workerId, received, execution } of tasks) {
      const taskIds = received.map((message) => stopMessageSchema.parse(JSON.parse(message.Body ?? "")).task_id);
      const wasStopped = stopped.some((entry) => entry.workerId === workerId);
      expect(taskIds, workerId).toEqual(wasStopped ? [execution.id] : []);
      expect((await stored(execution.id))?.status, workerId).toBe(wasStopped ? "stopped" : "executing");
    }
    for (const { execution } of stopped)
      expect(await stored(execution.id)).toMatchObject({ stop_acknowledged_by: execution.worker_id });
    expect(await Promise.all(stopped.map(({ worker }) => worker.runningTasks()))).toEqual(stopped.map(() => []));
    expect(await deadLettered("workers")).toBe(0);

    await Promise.all(
      tasks
        .filter(({ execution }) => !stopped.some((entry) => entry.execution.id === execution.id))
        .map(({ execution }) => stopFunction.http(aStopRequest(execution.id, KEY))),
    );
    await Promise.all(fleet.map(({ worker }) => worker.pollOnce(1)));
    expect(await Promise.all(runs)).toEqual(runs.map(() => "stopped"));
  }, 60_000);

  it("costs the stop function two AWS calls: the conditional write, and one message to the derived URL", async () => {
    const execution = await seedRunning("worker-calls");
    const queueUrl = await workerQueue(aws, "worker-calls");
    const stopFunction = stopTaskHarness(aws);
    await stopFunction.http(aStopRequest(randomUUID(), KEY)); // warms the key cache
    stopFunction.counter.reset();

    expect((await stopFunction.http(aStopRequest(execution.id, KEY))).statusCode).toBe(200);

    expect(stopFunction.counter.calls).toEqual(["UpdateItemCommand", "SendMessageCommand"]);
    expect(queueUrl).toBe(signalQueueUrl(aws.resources.signal_channels.workers.url_prefix, "worker-calls"));
    const messages = await drainQueue(aws.sqs, queueUrl);
    expect(messages.map((message) => JSON.parse(message.Body ?? "").task_id)).toEqual([execution.id]);
  });

  it("derives the queue of a worker whose id SQS would refuse as a name, the same way the worker does", async () => {
    const workerId = "ip-10-0-3-7.eu-west-1.compute.internal";
    const execution = await seedRunning(workerId);
    const worker = referenceWorker(aws, workerId);
    const queueUrl = await worker.openQueue();
    const run = worker.run(execution.id, fakeTask(1_000, 20));

    await stopTaskHarness(aws).http(aStopRequest(execution.id, KEY));

    expect(queueUrl).toMatch(/-worker-ip-10-0-3-7_eu-west-1_compute_internal-[0-9a-f]{16}$/);
    expect(await worker.pollOnce(1)).toBe(1);
    expect(await run).toBe("stopped");
  });
});

describe("when the worker's queue is not there", () => {
  it("keeps the stop, marks its signal pending, and delivers it once the worker is back under its id", async () => {
    const execution = await seedRunning("worker-away");
    const stopFunction = stopTaskHarness(aws);
    await stopFunction.http(aStopRequest(randomUUID(), KEY));
    stopFunction.counter.reset();

    const response = await stopFunction.http(aStopRequest(execution.id, KEY));

    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ status: "stopped" });
    expect(stopFunction.counter.calls).toEqual(["UpdateItemCommand", "SendMessageCommand", "UpdateItemCommand"]);
    expect(await stored(execution.id)).toMatchObject({ status: "stopped", signal_pending_since: expect.any(String) });

    // The next cleanup run finds the queue still missing: an attempt spent, nothing lost.
    const cleanup = cleanupHarness(aws, stopFunction);
    expect(await cleanup()).toMatchObject({ ownerQueueGone: 1, redriven: 0, failures: 0, flagged: 0 });

    // The worker comes back (same id): it makes its queue, and the next re-send reaches it.
    const worker = referenceWorker(aws, "worker-away");
    await worker.openQueue();
    await putItem(aws.dynamoDb, aws.resources.tables.executions, {
      ...(await stored(execution.id)),
      idx_signal_due_at: "2000-01-01T00:00:00.000000Z",
    });
    expect(await cleanup()).toMatchObject({ redriven: 1 });
    expect(await worker.pollOnce(1)).toBe(1);
    const item = await stored(execution.id);
    expect(item).toMatchObject({ stop_acknowledged_by: "worker-away" });
    expect(item).not.toHaveProperty("signal_pending_since");
  });

  it("sends nothing for a task no worker runs yet, and the cleanup closes it without a flag", async () => {
    const execution = await seedRunning(null, { status: "pending", started_at: null });
    const stopFunction = stopTaskHarness(aws, { signalAckTimeoutMs: 0 });
    await stopFunction.http(aStopRequest(randomUUID(), KEY));
    stopFunction.counter.reset();

    expect((await stopFunction.http(aStopRequest(execution.id, KEY))).statusCode).toBe(200);
    expect(stopFunction.counter.calls).toEqual(["UpdateItemCommand"]);

    expect(await cleanupHarness(aws, stopFunction)()).toMatchObject({ closedUnassigned: 1, flagged: 0, redriven: 0 });
    const item = await stored(execution.id);
    expect(item).toMatchObject({ status: "stopped", signal_unassigned_at: expect.any(String) });
    expect(item).not.toHaveProperty("idx_signal_due_at");
    expect(item).not.toHaveProperty("signal_delivery_failed_at");
  });

  it("re-sends to the worker a task was given after its stop, rather than closing it", async () => {
    const execution = await seedRunning(null, { status: "pending", started_at: null });
    const stopFunction = stopTaskHarness(aws, { signalAckTimeoutMs: 0 });
    await stopFunction.http(aStopRequest(execution.id, KEY));
    // A writer of the platform's assigns it regardless of the stop.
    await putItem(aws.dynamoDb, aws.resources.tables.executions, {
      ...(await stored(execution.id)),
      worker_id: "worker-late",
    });
    const worker = referenceWorker(aws, "worker-late");
    await worker.openQueue();

    expect(await cleanupHarness(aws, stopFunction)()).toMatchObject({ redriven: 1, closedUnassigned: 0 });
    expect(await worker.pollOnce(1)).toBe(1);
    expect(await stored(execution.id)).toMatchObject({ stop_acknowledged_by: "worker-late" });
  });
});

describe("a worker that vanished", () => {
  async function vanishedWorkerStop(workerId: string) {
    const execution = await seedRunning(workerId);
    const worker: ReferenceWorker = referenceWorker(aws, workerId);
    const queueUrl = await worker.openQueue();
    // The worker dies here: it never polls again.
    let clock = Date.now();
    const now = () => new Date(clock);
    const stopFunction = stopTaskHarness(aws, { now, signalAckTimeoutMs: 60_000 });
    expect((await stopFunction.http(aStopRequest(execution.id, KEY))).statusCode).toBe(200);
    const cleanup = cleanupHarness(aws, stopFunction, {
      now,
      settings: { signalAckTimeoutMs: 60_000, signalMaxAttempts: 3 },
    });
    const advance = (seconds: number) => {
      clock += seconds * 1000;
    };
    return { execution, queueUrl, cleanup, advance };
  }

  it("ends flagged by the re-drive after its last attempt; its message never reaches a DLQ, since nobody received it", async () => {
    const { execution, queueUrl, cleanup, advance } = await vanishedWorkerStop("worker-gone-1");

    const reports = [];
    for (const seconds of [61, 61, 121, 241]) {
      advance(seconds);
      reports.push(await cleanup());
    }

    expect(reports.map((report) => [report.redriven, report.flagged])).toEqual([
      [1, 0],
      [1, 0],
      [1, 0],
      [0, 1],
    ]);
    expect(await stored(execution.id)).toMatchObject({
      status: "stopped",
      signal_attempts: 3,
      signal_delivery_failed_at: expect.any(String),
    });
    expect(await drainQueue(aws.sqs, queueUrl)).toHaveLength(4);
    expect(await deadLettered("workers")).toBe(0);
  });

  it("ends flagged the same way once the sweep has deleted its queue", async () => {
    const { execution, queueUrl, cleanup, advance } = await vanishedWorkerStop("worker-gone-2");
    await aws.sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));

    const reports = [];
    for (const seconds of [61, 61, 121, 241]) {
      advance(seconds);
      reports.push(await cleanup());
    }

    expect(reports.map((report) => [report.ownerQueueGone, report.flagged, report.failures])).toEqual([
      [1, 0, 0],
      [1, 0, 0],
      [1, 0, 0],
      [0, 1, 0],
    ]);
    expect(await stored(execution.id)).toMatchObject({
      signal_attempts: 3,
      signal_delivery_failed_at: expect.any(String),
    });
  });

  it("is acknowledged through its heartbeat when it still runs the task but its queue was lost", async () => {
    const execution = await seedRunning("worker-no-queue");
    const worker = referenceWorker(aws, "worker-no-queue");
    const run = worker.run(execution.id, fakeTask(1_000, 20));

    await stopTaskHarness(aws).http(aStopRequest(execution.id, KEY));

    expect(await run).toBe("stopped");
    await expect
      .poll(async () => (await stored(execution.id))?.stop_acknowledged_by, { timeout: 5_000 })
      .toBe("worker-no-queue");
    expect(await cleanupHarness(aws, stopTaskHarness(aws))()).toMatchObject({
      redriven: 0,
      ownerQueueGone: 0,
      flagged: 0,
    });
  });
});

describe("the dead-letter queue", () => {
  it("receives a stop only after its own worker failed to finish with it five times", async () => {
    const execution = await seedRunning("worker-crashing");
    const queueUrl = await workerQueue(aws, "worker-crashing");
    await stopTaskHarness(aws).http(aStopRequest(execution.id, KEY));
    const before = await deadLettered("workers");

    // A worker that crashes after each receive, before its delete.
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const { Messages = [] } = await aws.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: 0, WaitTimeSeconds: 1 }),
      );
      expect(Messages, `receive ${attempt + 1}`).toHaveLength(1);
    }
    expect(
      await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 0 })),
    ).not.toHaveProperty("Messages.0");

    expect(await deadLettered("workers")).toBe(before + 1);
    const parked = await drainQueue(aws.sqs, aws.resources.signal_channels.workers.dead_letter_url);
    expect(parked.map((message) => JSON.parse(message.Body ?? "").task_id)).toContain(execution.id);
  });
});
