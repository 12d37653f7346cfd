import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import type { StreamHandler } from "../../../infra/local/stream-poller.js";
import { createDynamoDbClient, createSqsClient } from "../../../lib/aws/clients.js";
import { type ExecutionStreamHarness, startExecutionStream } from "../../support/execution-stream-harness.js";
import { aStopRequest } from "../../support/factories.js";
import { type FaultyProxy, startFaultyProxy } from "../../support/faulty-proxy.js";
import { drainQueue, type LocalAws, provisionIsolatedStack, storeApiKey } from "../../support/local-aws.js";
import { type StopTaskHarness, stopTaskHarness } from "../../support/stop-task-harness.js";
import {
  counts,
  drainEvents,
  drainStopMessages,
  type StoredTree,
  storedExecution,
  storeTree,
  type TreeNode,
} from "../../support/task-tree.js";

const KEY = `sk-stream-faults-${randomUUID()}`;

let aws: LocalAws;
let service: StopTaskHarness;
let dynamoDbProxy: FaultyProxy;
let sqsProxy: FaultyProxy;
let stream: ExecutionStreamHarness | undefined;

beforeAll(async () => {
  aws = await provisionIsolatedStack();
  await storeApiKey(aws, { key: KEY, organizationId: "org-a", keyId: "key-a" });
  service = stopTaskHarness(aws);
  dynamoDbProxy = await startFaultyProxy(inject("dynamoDbEndpoint"));
  sqsProxy = await startFaultyProxy(inject("sqsEndpoint"));
});

afterEach(async () => {
  await stream?.stop();
  stream = undefined;
  dynamoDbProxy.setFault(() => "pass");
  sqsProxy.setFault(() => "pass");
  // A test that failed before draining must not hand its messages and events to the next one.
  await Promise.all([drainEvents(aws), drainStopMessages(aws)]);
});

afterAll(async () => {
  await Promise.all([dynamoDbProxy?.close(), sqsProxy?.close()]);
});

/**
 * Five trees stopped at once: their records share batches, and each cascades over several records (two children a
 * record).
 */
const forest = (prefix: string): TreeNode[] =>
  Array.from({ length: 5 }, (_, tree) => ({
    name: `${prefix}${tree}`,
    children: [
      {
        name: `${prefix}${tree}.0`,
        children: [{ name: `${prefix}${tree}.0.0` }, { name: `${prefix}${tree}.0.1`, status: "completed" }],
      },
      { name: `${prefix}${tree}.1`, status: "paused" },
      { name: `${prefix}${tree}.2`, status: "failed" },
      { name: `${prefix}${tree}.3`, status: "pending", children: [{ name: `${prefix}${tree}.3.0` }] },
    ],
  }));
/** The nodes of each tree the stop must reach. */
const runningIn = (prefix: string) =>
  Array.from({ length: 5 }, (_, tree) => [
    `${prefix}${tree}`,
    `${prefix}${tree}.0`,
    `${prefix}${tree}.0.0`,
    `${prefix}${tree}.1`,
    `${prefix}${tree}.3`,
    `${prefix}${tree}.3.0`,
  ]).flat();

/**
 * Stores the forest, lets the processor index it, then arms `faults` (so that they hit the stop's cascade, not the
 * indexing of the newborn tasks, whose batching is up to the poller's timing) and stops each tree's root.
 */
async function stopForest(prefix: string, faults: () => void = () => {}): Promise<StoredTree[]> {
  const trees: StoredTree[] = [];
  for (const root of forest(prefix)) trees.push(await storeTree(aws, root));
  await stream?.settled();
  await drainEvents(aws);
  faults();
  const responses = await Promise.all(
    trees.map((tree) => service.http(aStopRequest(tree.ids[`${prefix}${trees.indexOf(tree)}`] ?? "", KEY))),
  );
  expect(responses.map((response) => response.statusCode)).toEqual([200, 200, 200, 200, 200]);
  return trees;
}

/**
 * Each node the stop must reach is stopped once (version 1), with one message and one Task Stopped; nothing else is.
 */
async function expectEachStoppedOnce(prefix: string, trees: StoredTree[]) {
  const names = Object.assign({}, ...trees.map((tree) => tree.names)) as Record<string, string>;
  const ids = Object.assign({}, ...trees.map((tree) => tree.ids)) as Record<string, string>;
  const expected = Object.fromEntries(runningIn(prefix).map((name) => [name, 1]));
  for (const [name, id] of Object.entries(ids)) {
    const record = await storedExecution(aws, id);
    if (expected[name]) expect(record, name).toMatchObject({ status: "stopped", version: 1 });
    else expect(record?.status, name).not.toBe("stopped");
  }
  const messages = await drainStopMessages(aws);
  expect(counts(messages.map((message) => names[message.task_id] ?? message.task_id))).toEqual(expected);
  const events = await drainEvents(aws);
  expect(
    counts(
      events
        .filter((event) => event["detail-type"] === "Task Stopped")
        .map((event) => names[event.detail.task_id] ?? event.detail.task_id),
    ),
  ).toEqual(expected);
  return events;
}

/**
 * The processor with its own clients behind the fault proxies, one attempt per call, so an injected fault fails the
 * record.
 */
async function processorBehindProxies(options: { wrapHandler?: (handler: StreamHandler) => StreamHandler } = {}) {
  const clientOptions = { requestTimeoutMs: 2_000, connectionTimeoutMs: 1_000, maxAttempts: 1 };
  stream = await startExecutionStream(aws, {
    dynamoDb: createDynamoDbClient({ ...clientOptions, endpoint: dynamoDbProxy.endpoint }),
    sqs: createSqsClient({ ...clientOptions, endpoint: sqsProxy.endpoint }),
    childrenPerRecord: 2,
    // Polled slowly enough that the five concurrent stops land in one batch: the faults then hit a record part-way
    // through it. One lane: a batch then holds records of several items, which is what these tests are about
    // (with more lanes, each lane's batches keep the same semantics, over fewer items).
    poller: { pollIntervalMs: 250, settings: { parallelizationFactor: 1 } },
    ...options,
  });
  return stream;
}

/** Records, for each invocation that reported a failed record, how many records of its batch came before that one. */
function watchPartialFailures(handled: number[]): (handler: StreamHandler) => StreamHandler {
  return (handler) => async (event, context) => {
    const response = await handler(event, context);
    for (const failure of response?.batchItemFailures ?? []) {
      handled.push(event.Records.findIndex((record) => record.dynamodb?.SequenceNumber === failure.itemIdentifier));
    }
    return response;
  };
}

/** Fails the `nth` to `nth + times - 1` calls of `operation` seen from now on. */
function failCalls(proxy: FaultyProxy, operation: string, nth: number, times = 1): () => number {
  let seen = 0;
  let failed = 0;
  proxy.setFault((call) => {
    if (!call.endsWith(`.${operation}`)) return "pass";
    seen += 1;
    if (seen >= nth && seen < nth + times) {
      failed += 1;
      return "error";
    }
    return "pass";
  });
  return () => failed;
}

describe("a processor failure part-way through a batch", () => {
  it("loses nothing and repeats nothing when a sub-execution's stop fails mid-cascade", async () => {
    const before: number[] = [];
    const processor = await processorBehindProxies({ wrapHandler: watchPartialFailures(before) });
    let failed = () => 0;
    const trees = await stopForest("u", () => {
      failed = failCalls(dynamoDbProxy, "UpdateItem", 4, 2);
    });
    await processor.settled(60_000);

    expect(failed()).toBe(2);
    // A record failed with records of its batch handled before it: the retry resumed there.
    expect(
      before.some((index) => index > 0),
      JSON.stringify(before),
    ).toBe(true);
    await expectEachStoppedOnce("u", trees);
    expect(await drainQueue(aws.sqs, aws.resources.queues.execution_stream_failures)).toEqual([]);
  });

  it("loses nothing and repeats nothing when publishing a record's events fails", async () => {
    const before: number[] = [];
    const processor = await processorBehindProxies({ wrapHandler: watchPartialFailures(before) });
    let failed = () => 0;
    const trees = await stopForest("e", () => {
      failed = failCalls(sqsProxy, "SendMessageBatch", 3, 2);
    });
    await processor.settled(60_000);

    expect(failed()).toBe(2);
    expect(
      before.some((index) => index > 0),
      JSON.stringify(before),
    ).toBe(true);
    await expectEachStoppedOnce("e", trees);
  });

  it(
    "after an invocation that dies once its work is done (a timeout), repeats " +
      "no stop and no message; a repeated event carries the same idempotency key",
    async () => {
      let invocations = 0;
      const processor = await processorBehindProxies({
        wrapHandler: (handler) => async (event, context) => {
          const response = await handler(event, context);
          // The third invocation runs out of time after handling its batch: Lambda retries all of it (bisected).
          invocations += 1;
          if (invocations === 3) throw new Error("Task timed out after 60.00 seconds");
          return response;
        },
      });

      const trees = await stopForest("t");
      await processor.settled(60_000);

      expect(invocations).toBeGreaterThan(3);
      const names = Object.assign({}, ...trees.map((tree) => tree.names)) as Record<string, string>;
      const expected = runningIn("t");
      for (const name of expected) {
        expect(await storedExecution(aws, trees.map((tree) => tree.ids[name]).find(Boolean) ?? ""), name).toMatchObject(
          {
            status: "stopped",
            version: 1,
          },
        );
      }
      const messages = await drainStopMessages(aws);
      expect(counts(messages.map((message) => names[message.task_id] ?? message.task_id))).toEqual(
        Object.fromEntries(expected.map((name) => [name, 1])),
      );
      // EventBridge delivers at least once, as does a retried invocation: a consumer drops repeats by key.
      const stoppedEvents = (await drainEvents(aws)).filter((event) => event["detail-type"] === "Task Stopped");
      const keysByNode: Record<string, Set<string>> = {};
      for (const event of stoppedEvents) {
        const name = names[event.detail.task_id] ?? event.detail.task_id;
        keysByNode[name] ??= new Set();
        keysByNode[name]?.add(event.detail.idempotency_key);
      }
      expect(Object.keys(keysByNode).sort()).toEqual([...expected].sort());
      for (const [name, keys] of Object.entries(keysByNode)) expect(keys.size, name).toBe(1);
    },
  );

  it("gives up on a record that keeps failing after its retries, describes it on the failure queue, and moves on", async () => {
    const poison = await storeTree(aws, { name: "poison" });
    const healthy = await storeTree(aws, { name: "healthy" });
    const poisonId = poison.ids.poison ?? "";
    stream = await startExecutionStream(aws, {
      poller: { settings: { maxRetryAttempts: 2 } },
      override: (deps) => ({
        publishEvents: async (events) => {
          if (events.some((event) => event.detail.task_id === poisonId))
            throw new Error("this record can never be published");
          await deps.publishEvents(events);
        },
      }),
    });
    await stream.settled();
    await drainEvents(aws);

    await service.http(aStopRequest(poisonId, KEY));
    await service.http(aStopRequest(healthy.ids.healthy ?? "", KEY));
    await stream.settled(30_000);

    const failures = (await drainQueue(aws.sqs, aws.resources.queues.execution_stream_failures)).map((message) =>
      JSON.parse(message.Body ?? ""),
    );
    expect(failures).toEqual([
      expect.objectContaining({
        requestContext: expect.objectContaining({ condition: "RetryAttemptsExhausted" }),
        DDBStreamBatchInfo: expect.objectContaining({
          batchSize: 1,
          startSequenceNumber: expect.any(String),
          streamArn: expect.stringContaining("/stream/"),
        }),
      }),
    ]);
    expect((await drainEvents(aws)).map((event) => event.detail.task_id)).toEqual([healthy.ids.healthy]);
    await drainStopMessages(aws);
  });
});
