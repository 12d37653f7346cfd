import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createSqsClient } from "../../../lib/aws/clients.js";
import { dynamoWorkerExecutionUpdates } from "../../../lib/worker/execution-updates.js";
import { cleanupHarness, referenceWorker } from "../../support/cleanup-harness.js";
import { aStopRequest } from "../../support/factories.js";
import {
  drainQueue,
  getStoredItem,
  type LocalAws,
  localDynamoDbClient,
  provisionIsolatedStack,
  unreachableEndpoint,
  workerQueueUrl,
} from "../../support/local-aws.js";
import {
  aPlatformKey,
  type PlatformExecution,
  platformCorpus,
  putPlatformApiKeys,
  putPlatformExecution,
} from "../../support/platform-records.js";
import { stopTaskHarness } from "../../support/stop-task-harness.js";

/**
 * A record the platform wrote (no index keys of ours, nulls for every unset field) through the
 * rest of its life here: a stop whose send fails, the cleanup's re-drive, the worker's
 * acknowledgement and heartbeats, and the stale-heartbeat stop.
 */

const KEY = aPlatformKey();
const WORKER = "worker-platform-1";

function corpusRecord(name: string): PlatformExecution {
  const record = platformCorpus.records.find((candidate) => candidate.name === name);
  if (!record) throw new Error(`corpus lacks ${name}`);
  return record;
}

async function platformStack(): Promise<LocalAws> {
  const aws = await provisionIsolatedStack({ workers: [WORKER] });
  await putPlatformApiKeys(aws);
  return aws;
}

const unreachableSqs = () => createSqsClient({ ...unreachableEndpoint, maxAttempts: 1 });
const item = (aws: LocalAws, id: string) => getStoredItem(aws.dynamoDb, aws.resources.tables.executions, id);

describe("records the platform wrote, through stop, re-drive and acknowledgement", () => {
  it.each([
    ["every unset field null", {}],
    ["stop_acknowledged_at stored as null", { stop_acknowledged_at: { NULL: true } }],
  ] as const)("a stop whose send failed is marked pending, re-driven and acknowledged (%s)", async (_, extra) => {
    const aws = await platformStack();
    const id = randomUUID();
    const record = corpusRecord("running, isoformat_naive");
    await putPlatformExecution(aws, { ...record, item: { ...record.item, ...extra } }, id);

    const response = await stopTaskHarness(aws, { sqs: unreachableSqs() }).http(aStopRequest(id, KEY));
    expect(response.statusCode).toBe(200);
    expect(await item(aws, id)).toHaveProperty("signal_pending_since");

    expect(await cleanupHarness(aws, stopTaskHarness(aws))()).toMatchObject({ redriven: 1, failures: 0 });
    expect(await referenceWorker(aws, WORKER).pollOnce(1)).toBe(1);
    const acknowledged = await item(aws, id);
    expect(acknowledged).toMatchObject({
      status: "stopped",
      stop_acknowledged_by: WORKER,
      stop_acknowledged_at: expect.stringMatching(/Z$/),
    });
    expect(acknowledged).not.toHaveProperty("signal_pending_since");
    expect(acknowledged).not.toHaveProperty("idx_signal_shard");
  });

  it("an unreadable record's pending signal is still re-driven from its routing fields alone", async () => {
    const aws = await platformStack();
    const id = randomUUID();
    await putPlatformExecution(aws, corpusRecord("running, output_format from a newer model"), id);

    const response = await stopTaskHarness(aws, { sqs: unreachableSqs() }).http(aStopRequest(id, KEY));
    expect(response.statusCode).toBe(500);
    expect(await item(aws, id)).toMatchObject({ status: "stopped", signal_pending_since: expect.any(String) });

    expect(await cleanupHarness(aws, stopTaskHarness(aws))()).toMatchObject({ redriven: 1, failures: 0 });
    const messages = await drainQueue(aws.sqs, workerQueueUrl(aws, WORKER));
    expect(messages.map((message) => JSON.parse(message.Body ?? "{}"))).toEqual([
      expect.objectContaining({ task_id: id, worker_id: WORKER }),
    ]);
  });

  it("a heartbeat brings it into the liveness indexes, and the cleanup stops it once the heartbeats stop", async () => {
    const aws = await platformStack();
    const id = randomUUID();
    await putPlatformExecution(aws, corpusRecord("running, isoformat_utc"), id);
    const heartbeatAt = new Date("2026-12-01T09:01:00.000Z");
    const updates = dynamoWorkerExecutionUpdates(
      localDynamoDbClient(),
      aws.resources.tables.executions,
      () => heartbeatAt,
    );

    expect(await updates.heartbeat(id, WORKER)).toBe("alive");
    expect(await item(aws, id)).toMatchObject({
      idx_active_shard: expect.stringMatching(/^active#/),
      idx_heartbeat_at: "2026-12-01T09:01:00.000000Z",
      idx_active_since: "2026-12-01T09:01:00.000000Z",
      // The platform's own fields are left as the platform wrote them.
      started_at: "2026-12-01T08:59:00.123456+00:00",
    });

    const tenMinutesLater = () => new Date(heartbeatAt.getTime() + 10 * 60_000);
    const report = await cleanupHarness(aws, stopTaskHarness(aws, { now: tenMinutesLater }), {
      now: tenMinutesLater,
    })();
    expect(report).toMatchObject({ stoppedStale: 1, failures: 0 });
    expect(await item(aws, id)).toMatchObject({
      status: "stopped",
      stop_reason: "stale_heartbeat",
      is_manually_stopped: false,
    });
    expect(await updates.heartbeat(id, WORKER)).toBe("stop_requested");
  });
});
