/**
 * The fleet bench's Python host (bench/fleet/python_fleet.py): several ReferenceWorkers of the
 * Python kit in one process, each with its own queue and long poll, against DynamoDB Local and
 * fauxqs, stopped through the real stop handler. What the bench's Python row counts on: every
 * stopped task is halted in Python (its asyncio task cancelled, its thread's event set), its
 * record acknowledged, and nothing dead-lettered or flagged.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { afterEach, beforeEach, describe, expect, inject, it, vi } from "vitest";
import { type Halt, type PythonHost, startPythonHost } from "../../../bench/fleet/python-fleet.js";
import { livenessIndexKeys } from "../../../lib/executions/indexes.js";
import { anExecution, aStopRequest } from "../../support/factories.js";
import { getStoredItem, type LocalAws, provisionIsolatedStack, putItem, storeApiKey } from "../../support/local-aws.js";
import { stopTaskHarness } from "../../support/stop-task-harness.js";

const KEY = `sk-python-fleet-${randomUUID()}`;
const WORKERS = 3;
const TASKS_PER_WORKER = 2;

let aws: LocalAws;
let host: PythonHost | undefined;

beforeEach(async () => {
  aws = await provisionIsolatedStack({ workers: [] });
  await storeApiKey(aws, { key: KEY, organizationId: "org-a", keyId: "key-a" });
});

afterEach(() => {
  host?.kill();
  host = undefined;
});

/** The stack file the host reads, as `npm start` writes it, naming this test's tables and queues. */
async function stackFile(): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), "python-fleet-")), "stack.json");
  await writeFile(
    file,
    JSON.stringify({
      region: "us-east-1",
      dynamodb_endpoint: inject("dynamoDbEndpoint"),
      sqs_endpoint: inject("sqsEndpoint"),
      tables: aws.resources.tables,
      signal_channels: aws.resources.signal_channels,
    }),
  );
  return file;
}

async function seedRunning(workerId: string): Promise<string> {
  const execution = anExecution({ status: "executing", worker_id: workerId, started_at: new Date().toISOString() });
  await putItem(aws.dynamoDb, aws.resources.tables.executions, { ...execution, ...livenessIndexKeys(execution) });
  return execution.id;
}

async function deadLettered(): Promise<number> {
  const { Attributes = {} } = await aws.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: aws.resources.signal_channels.workers.dead_letter_url,
      AttributeNames: ["ApproximateNumberOfMessages"],
    }),
  );
  return Number(Attributes.ApproximateNumberOfMessages ?? 0);
}

describe("the fleet bench's Python host", () => {
  it("halts and acknowledges every stopped task of its workers, asyncio and thread tasks alike", async () => {
    const workerIds = Array.from({ length: WORKERS }, (_, index) => `py-fleet-${randomUUID().slice(0, 6)}-${index}`);
    const halts = new Map<string, Halt>();
    host = startPythonHost({
      stackFile: await stackFile(),
      deadLetterArn: aws.resources.signal_channels.workers.dead_letter_arn,
      workerIds,
      seed: 1,
      heartbeatSeconds: 1,
      pollWaitSeconds: 1,
      onHalt: (taskId, halt) => halts.set(taskId, halt),
    });
    const ready = await host.next("ready", 60_000);
    expect(Object.keys(ready.queues ?? {}).sort()).toEqual([...workerIds].sort());

    const tasks: Record<string, string[]> = {};
    for (const workerId of workerIds)
      tasks[workerId] = await Promise.all(Array.from({ length: TASKS_PER_WORKER }, () => seedRunning(workerId)));
    host.send({ command: "run", tasks });
    await host.next("running", 30_000);

    const stop = stopTaskHarness(aws);
    const taskIds = Object.values(tasks).flat();
    const statuses = await Promise.all(taskIds.map(async (id) => (await stop.http(aStopRequest(id, KEY))).statusCode));
    expect(statuses).toEqual(taskIds.map(() => 200));

    await vi.waitFor(() => expect([...halts.keys()].sort()).toEqual([...taskIds].sort()), {
      timeout: 30_000,
      interval: 100,
    });
    await vi.waitFor(
      async () => {
        const records = await Promise.all(
          taskIds.map((id) => getStoredItem(aws.dynamoDb, aws.resources.tables.executions, id)),
        );
        for (const record of records) {
          expect(record?.status).toBe("stopped");
          expect(record?.stop_acknowledged_at).toEqual(expect.any(String));
          expect(record?.signal_delivery_failed_at).toBeUndefined();
        }
      },
      { timeout: 15_000, interval: 200 },
    );
    expect(new Set([...halts.values()].map((halt) => halt.kind))).toEqual(new Set(["asyncio", "thread"]));

    host.send({ command: "finish" });
    const finished = await host.next("finished", 60_000);
    expect(Object.values(finished.ends ?? {})).toEqual(taskIds.map(() => "stopped"));
    expect(await deadLettered()).toBe(0);
  }, 120_000);
});
