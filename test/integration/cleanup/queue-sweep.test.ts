import { CreateQueueCommand, ListQueuesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { localClientOptions } from "../../../infra/local/emulators.js";
import { ownerQueueSettings, type SignalChannelResources } from "../../../infra/local/provision.js";
import { createSqsClient } from "../../../lib/aws/clients.js";
import { LAST_SEEN_TAG } from "../../../lib/signals/queue-names.js";
import {
  type SweepSettings,
  sqsSignalQueueInventory,
  sweepIdleSignalQueues,
} from "../../../lib/signals/queue-sweep.js";
import { dynamoSweepPositions } from "../../../lib/signals/sweep-positions.js";
import { formatTimestamp } from "../../../lib/timestamp.js";
import { ensureSignalQueue } from "../../../lib/worker/signal-queue.js";
import { type LocalAws, provisionIsolatedStack } from "../../support/local-aws.js";
import { type SqsPagingProxy, startSqsPagingProxy } from "../../support/sqs-paging-proxy.js";

const DAY_MS = 24 * 60 * 60_000;
const NOW = new Date("2026-11-26T12:00:00.000Z");

/** The sweep as the cleanup wires it, over these clients and channels. */
function sweeper(aws: LocalAws, sqs: SQSClient, namePrefixes: readonly string[]) {
  return (settings: Partial<SweepSettings> = {}) =>
    sweepIdleSignalQueues(
      {
        inventory: sqsSignalQueueInventory(sqs),
        positions: dynamoSweepPositions(aws.dynamoDb, aws.resources.tables.sweep_positions),
        namePrefixes,
        now: () => NOW,
      },
      { idleMs: DAY_MS, maxQueuesPerRun: 100, timeBudgetMs: 30_000, ...settings },
    );
}

/** Every queue URL under a prefix, through the paging proxy (pages of 1,000). */
async function listAll(sqs: SQSClient, namePrefix: string): Promise<string[]> {
  const urls: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sqs.send(
      new ListQueuesCommand({
        QueueNamePrefix: namePrefix,
        MaxResults: 1000,
        ...(nextToken ? { NextToken: nextToken } : {}),
      }),
    );
    urls.push(...(page.QueueUrls ?? []));
    nextToken = page.NextToken;
  } while (nextToken);
  return urls;
}

/** `count` owners' queues on a channel, one CreateQueue each (tagged as the library tags), ten at a time. */
async function makeOwnerQueues(
  sqs: SQSClient,
  channel: SignalChannelResources,
  count: number,
  lastSeen: (index: number) => Date,
): Promise<void> {
  for (let start = 0; start < count; start += 10) {
    await Promise.all(
      Array.from({ length: Math.min(10, count - start) }, (_, offset) =>
        sqs.send(
          new CreateQueueCommand({
            QueueName: `${channel.name_prefix}owner-${String(start + offset).padStart(5, "0")}`,
            tags: { [LAST_SEEN_TAG]: formatTimestamp(lastSeen(start + offset)) },
          }),
        ),
      ),
    );
  }
}

describe("the sweep of vanished owners' queues", () => {
  it("deletes the queues of workers and environments not seen for a day, and nothing else", async () => {
    const aws = await provisionIsolatedStack({ workers: [] });
    const { workers, environments } = aws.resources.signal_channels;
    const hoursAgo = (hours: number) => new Date(NOW.getTime() - hours * 60 * 60_000);
    // Each owner tags its queue with when it was last seen (at start, then every ten minutes).
    const alive = await ensureSignalQueue(aws.sqs, ownerQueueSettings(workers), "worker-alive", hoursAgo(0.2));
    const quietLately = await ensureSignalQueue(aws.sqs, ownerQueueSettings(workers), "worker-quiet", hoursAgo(23));
    const gone = await ensureSignalQueue(aws.sqs, ownerQueueSettings(workers), "worker-gone", hoursAgo(30));
    const environmentGone = await ensureSignalQueue(
      aws.sqs,
      ownerQueueSettings(environments),
      "env-gone",
      hoursAgo(48),
    );
    // A queue under the pattern without the tag is judged by its creation time (just now, here).
    const { QueueUrl: untagged } = await aws.sqs.send(
      new CreateQueueCommand({ QueueName: `${workers.name_prefix}made-by-hand` }),
    );

    const report = await sweeper(aws, aws.sqs, [workers.name_prefix, environments.name_prefix])();

    expect(report).toEqual({ listed: 5, examined: 5, deleted: 2, failures: 0, truncated: false });
    const { QueueUrls = [] } = await aws.sqs.send(
      new ListQueuesCommand({ QueueNamePrefix: aws.resources.tables.executions.replace(/-executions$/, "") }),
    );
    const stackQueues = [
      workers.dead_letter_url,
      environments.dead_letter_url,
      ...Object.values(aws.resources.queues),
      ...Object.values(aws.resources.deadLetterQueues),
    ];
    expect(QueueUrls.sort()).toEqual([alive, quietLately, untagged, ...stackQueues].sort());
    expect(QueueUrls).not.toContain(gone);
    expect(QueueUrls).not.toContain(environmentGone);
  });

  it("stops at its cap, and the next run goes on from the queue after the last it judged", async () => {
    const aws = await provisionIsolatedStack({ workers: [] });
    const { workers } = aws.resources.signal_channels;
    const longAgo = new Date("2026-01-01T00:00:00.000Z");
    for (const id of ["a", "b", "c"])
      await ensureSignalQueue(aws.sqs, ownerQueueSettings(workers), `worker-${id}`, longAgo);
    const sweep = sweeper(aws, aws.sqs, [workers.name_prefix]);

    expect(await sweep({ maxQueuesPerRun: 2 })).toMatchObject({ examined: 2, deleted: 2, truncated: true });
    expect(
      await dynamoSweepPositions(aws.dynamoDb, aws.resources.tables.sweep_positions).read(workers.name_prefix),
    ).toBe(`${workers.name_prefix}worker-b`);
    expect(await sweep({ maxQueuesPerRun: 2 })).toMatchObject({ examined: 1, deleted: 1, truncated: false });
  });
});

describe("a sweep out of time", () => {
  it("judges nothing when its time runs out before the listing is whole, and keeps its position", async () => {
    const aws = await provisionIsolatedStack({ workers: [] });
    const { workers } = aws.resources.signal_channels;
    const longAgo = new Date("2026-01-01T00:00:00.000Z");
    for (const id of ["a", "b"]) await ensureSignalQueue(aws.sqs, ownerQueueSettings(workers), `worker-${id}`, longAgo);
    const positions = dynamoSweepPositions(aws.dynamoDb, aws.resources.tables.sweep_positions);
    const sweep = sweeper(aws, aws.sqs, [workers.name_prefix]);
    await sweep({ maxQueuesPerRun: 1 });
    const position = await positions.read(workers.name_prefix);

    expect(await sweep({ timeBudgetMs: 0 })).toEqual({
      listed: 0,
      examined: 0,
      deleted: 0,
      failures: 0,
      truncated: true,
    });
    expect(await positions.read(workers.name_prefix)).toBe(position);
    expect(await sweep()).toMatchObject({ listed: 1, examined: 1, deleted: 1, truncated: false });
  });
});

describe("the sweep over more queues than one ListQueues page, paged as SQS pages", () => {
  const WORKER_QUEUES = 2_600;
  const ENVIRONMENT_QUEUES = 400;
  const CAP = 1_000;
  // Every 7th worker and every 5th environment vanished two days ago; the others were seen an hour ago.
  const workerGone = (index: number) => index % 7 === 3;
  const environmentGone = (index: number) => index % 5 === 1;
  const seen = (gone: (index: number) => boolean) => (index: number) =>
    new Date(NOW.getTime() - (gone(index) ? 2 * DAY_MS : 60 * 60_000));
  const countOf = (count: number, predicate: (index: number) => boolean) =>
    Array.from({ length: count }, (_, index) => index).filter(predicate).length;

  let aws: LocalAws;
  let proxy: SqsPagingProxy;
  let sqs: SQSClient;
  let workers: SignalChannelResources;
  let environments: SignalChannelResources;

  beforeAll(async () => {
    aws = await provisionIsolatedStack({ workers: [] });
    ({ workers, environments } = aws.resources.signal_channels);
    proxy = await startSqsPagingProxy(inject("sqsEndpoint"));
    sqs = createSqsClient({ ...localClientOptions, endpoint: proxy.endpoint });
    await makeOwnerQueues(aws.sqs, workers, WORKER_QUEUES, seen(workerGone));
    await makeOwnerQueues(aws.sqs, environments, ENVIRONMENT_QUEUES, seen(environmentGone));
  }, 120_000);

  afterAll(async () => {
    await proxy.close();
  });

  it("the stand-in pages ListQueues: 1,000 at most, a NextToken only with MaxResults, in no name order", async () => {
    const first = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: workers.name_prefix, MaxResults: 1000 }));
    const unpaged = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: workers.name_prefix }));
    const all = await listAll(sqs, workers.name_prefix);

    expect(first.QueueUrls).toHaveLength(1000);
    expect(first.NextToken).toBeDefined();
    expect(unpaged.QueueUrls).toHaveLength(1000);
    expect(unpaged.NextToken).toBeUndefined();
    expect(new Set(all).size).toBe(WORKER_QUEUES);
    expect(all).not.toEqual([...all].sort());
  });

  it("judges every queue of both channels once within ceil(total / cap) runs, and deletes exactly the idle ones", async () => {
    const sweep = sweeper(aws, sqs, [workers.name_prefix, environments.name_prefix]);
    const runs = Math.ceil((WORKER_QUEUES + ENVIRONMENT_QUEUES) / CAP);
    const reports = [];
    for (let run = 0; run < runs; run += 1) reports.push(await sweep({ maxQueuesPerRun: CAP }));

    const goneWorkers = countOf(WORKER_QUEUES, workerGone);
    const goneEnvironments = countOf(ENVIRONMENT_QUEUES, environmentGone);
    expect(reports[0]).toMatchObject({ listed: WORKER_QUEUES + ENVIRONMENT_QUEUES, examined: CAP, truncated: true });
    expect(reports.map((report) => report.examined)).toEqual(reports.map(() => CAP));
    expect(reports.reduce((sum, report) => sum + report.deleted + report.failures, 0)).toBe(
      goneWorkers + goneEnvironments,
    );
    expect(await listAll(sqs, workers.name_prefix)).toHaveLength(WORKER_QUEUES - goneWorkers);
    expect(await listAll(sqs, environments.name_prefix)).toHaveLength(ENVIRONMENT_QUEUES - goneEnvironments);
    // Each queue judged once (one ListQueueTags each: all are tagged), none twice, none skipped.
    expect(proxy.seen.get("ListQueueTags")).toBe(WORKER_QUEUES + ENVIRONMENT_QUEUES);

    // The next run, the fleet now clean, starts the ring again and deletes nothing.
    expect(await sweep({ maxQueuesPerRun: CAP })).toMatchObject({ examined: CAP, deleted: 0, failures: 0 });
  });
});
