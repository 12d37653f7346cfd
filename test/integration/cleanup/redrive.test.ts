import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createSqsClient } from "../../../lib/aws/clients.js";
import { indexShard, livenessIndexKeys } from "../../../lib/executions/indexes.js";
import { cleanupHarness, referenceWorker } from "../../support/cleanup-harness.js";
import { anExecution, aStopRequest } from "../../support/factories.js";
import {
  drainQueue,
  getStoredItem,
  type LocalAws,
  provisionIsolatedStack,
  putItem,
  storeApiKey,
  unreachableEndpoint,
  workerQueueUrl,
} from "../../support/local-aws.js";
import { stopTaskHarness } from "../../support/stop-task-harness.js";

const KEY = `sk-redrive-${randomUUID()}`;

async function stackWithKey(): Promise<LocalAws> {
  const aws = await provisionIsolatedStack({ workers: ["worker-1"] });
  await storeApiKey(aws, { key: KEY, organizationId: "org-a", keyId: "key-a" });
  return aws;
}

async function seedRunning(aws: LocalAws, count: number, overrides: Parameters<typeof anExecution>[0] = {}) {
  const executions = Array.from({ length: count }, () => anExecution({ worker_id: "worker-1", ...overrides }));
  await Promise.all(
    executions.map((execution) =>
      putItem(aws.dynamoDb, aws.resources.tables.executions, { ...execution, ...livenessIndexKeys(execution) }),
    ),
  );
  return executions;
}

const unreachableSqs = () => createSqsClient({ ...unreachableEndpoint, maxAttempts: 1 });

describe("re-drive: the stop signal always arrives", () => {
  it("delivers all of 100 stops made while SQS was unreachable, each acknowledged by the worker; none lost", async () => {
    const aws = await stackWithKey();
    const executions = await seedRunning(aws, 100);
    const withoutSqs = stopTaskHarness(aws, { sqs: unreachableSqs() });

    for (let batch = 0; batch < executions.length; batch += 20) {
      const responses = await Promise.all(
        executions.slice(batch, batch + 20).map((execution) => withoutSqs.http(aStopRequest(execution.id, KEY))),
      );
      expect(responses.map((response) => response.statusCode)).toEqual(Array(responses.length).fill(200));
    }
    expect(await drainQueue(aws.sqs, workerQueueUrl(aws, "worker-1"))).toEqual([]);

    // SQS is back: one cleanup run re-sends every pending signal.
    const report = await cleanupHarness(aws, stopTaskHarness(aws))();
    expect(report).toMatchObject({ redriven: 100, failures: 0, flagged: 0 });

    // The worker (restarted, so it no longer runs them) receives each stop and acknowledges it.
    const worker = referenceWorker(aws, "worker-1");
    let handled = 0;
    for (let round = 0; round < 30 && handled < 100; round += 1) handled += await worker.pollOnce(1);
    expect(handled).toBe(100);

    const items = await Promise.all(
      executions.map((execution) => getStoredItem(aws.dynamoDb, aws.resources.tables.executions, execution.id)),
    );
    for (const item of items) {
      expect(item).toMatchObject({ status: "stopped", stop_acknowledged_by: "worker-1", signal_attempts: 1 });
      expect(item).toHaveProperty("stop_acknowledged_at");
      for (const gone of ["signal_pending_since", "idx_signal_due_at", "idx_signal_shard", "idx_active_shard"])
        expect(item).not.toHaveProperty(gone);
    }
    // Acknowledged stops leave the index: the next run has nothing to do.
    expect(await cleanupHarness(aws, stopTaskHarness(aws))()).toMatchObject({ redriven: 0, flagged: 0 });
  }, 120_000);

  it("re-sends an unacknowledged signal with backoff, then flags the execution after the last attempt", async () => {
    const aws = await stackWithKey();
    let clock = Date.parse("2026-11-25T12:00:00.000Z");
    const now = () => new Date(clock);
    const stopFunction = stopTaskHarness(aws, { now, signalAckTimeoutMs: 60_000 });
    const cleanup = cleanupHarness(aws, stopFunction, {
      now,
      settings: { signalAckTimeoutMs: 60_000, signalMaxAttempts: 3 },
    });
    const [execution] = await seedRunning(aws, 1);
    if (!execution) throw new Error("no execution seeded");
    await stopFunction.http(aStopRequest(execution.id, KEY));
    expect(await drainQueue(aws.sqs, workerQueueUrl(aws, "worker-1"))).toHaveLength(1);

    expect(await cleanup()).toMatchObject({ redriven: 0 });
    const dueTimes: unknown[] = [];
    for (const waitSeconds of [60, 60, 120, 240]) {
      clock += waitSeconds * 1000;
      await cleanup();
      dueTimes.push(
        (await getStoredItem(aws.dynamoDb, aws.resources.tables.executions, execution.id))?.idx_signal_due_at,
      );
    }

    const messages = await drainQueue(aws.sqs, workerQueueUrl(aws, "worker-1"));
    expect(messages).toHaveLength(3);
    expect(messages.map((message) => JSON.parse(message.Body ?? "{}").task_id)).toEqual([
      execution.id,
      execution.id,
      execution.id,
    ]);
    // Attempt 1 at +60 s waits 60 s, attempt 2 at +120 s waits 120 s, attempt 3 at +240 s waits 240 s, then the flag.
    expect(dueTimes).toEqual([
      "2026-11-25T12:02:00.000000Z",
      "2026-11-25T12:04:00.000000Z",
      "2026-11-25T12:08:00.000000Z",
      undefined,
    ]);
    const item = await getStoredItem(aws.dynamoDb, aws.resources.tables.executions, execution.id);
    expect(item).toMatchObject({ signal_attempts: 3, signal_delivery_failed_at: "2026-11-25T12:08:00.000000Z" });
    expect(item).not.toHaveProperty("idx_signal_shard");

    clock += 3_600_000;
    expect(await cleanup()).toMatchObject({ redriven: 0, flagged: 0 });
    expect(await drainQueue(aws.sqs, workerQueueUrl(aws, "worker-1"))).toEqual([]);
  });

  it("lets two overlapping runs re-send each due signal once", async () => {
    const aws = await stackWithKey();
    const stopFunction = stopTaskHarness(aws, { signalAckTimeoutMs: 0 });
    const executions = await seedRunning(aws, 20);
    await Promise.all(executions.map((execution) => stopFunction.http(aStopRequest(execution.id, KEY))));
    await drainQueue(aws.sqs, workerQueueUrl(aws, "worker-1"));

    const [first, second] = await Promise.all([
      cleanupHarness(aws, stopFunction)(),
      cleanupHarness(aws, stopFunction)(),
    ]);

    expect((first?.redriven ?? 0) + (second?.redriven ?? 0)).toBe(20);
    const messages = await drainQueue(aws.sqs, workerQueueUrl(aws, "worker-1"), { waitSeconds: 1 });
    expect(messages.map((message) => JSON.parse(message.Body ?? "{}").task_id).sort()).toEqual(
      executions.map((execution) => execution.id).sort(),
    );
  });
});

describe("re-drive: a guard's stop is re-sent whole", () => {
  it("re-sends the limit crossed and its usage (stop_limit) with the reason", async () => {
    const aws = await stackWithKey();
    const execution = anExecution({
      worker_id: "worker-1",
      status: "stopped",
      stopped_at: "2026-11-25T12:00:00.000000Z",
      stopped_by: "guard:duration_limit",
      stop_reason: "duration_limit_exceeded",
      is_manually_stopped: false,
    });
    await putItem(aws.dynamoDb, aws.resources.tables.executions, {
      ...execution,
      stop_limit: { limit_name: "max_duration_seconds", limit: 600, usage: 612 },
      idx_signal_shard: indexShard("signal", execution.id as string),
      idx_signal_due_at: "2026-11-25T12:00:30.000000Z",
    });

    expect(await cleanupHarness(aws, stopTaskHarness(aws))()).toMatchObject({ redriven: 1 });

    const messages = await drainQueue(aws.sqs, workerQueueUrl(aws, "worker-1"));
    expect(messages.map((message) => JSON.parse(message.Body ?? "{}"))).toEqual([
      expect.objectContaining({
        task_id: execution.id,
        reason: "duration_limit_exceeded",
        requested_by: "guard:duration_limit",
        limit: { limit_name: "max_duration_seconds", limit: 600, usage: 612 },
      }),
    ]);
  });
});
