import { CreateQueueCommand, ListQueuesCommand } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { ownerQueueSettings } from "../../../infra/local/provision.js";
import { sqsSignalQueueInventory, sweepIdleSignalQueues } from "../../../lib/signals/queue-sweep.js";
import { ensureSignalQueue } from "../../../lib/worker/signal-queue.js";
import { provisionIsolatedStack } from "../../support/local-aws.js";

const DAY_MS = 24 * 60 * 60_000;

describe("the sweep of vanished owners' queues", () => {
  it("deletes the queues of workers and environments not seen for a day, and nothing else", async () => {
    const aws = await provisionIsolatedStack({ workers: [] });
    const { workers, environments } = aws.resources.signal_channels;
    const now = new Date("2026-11-26T12:00:00.000Z");
    const hoursAgo = (hours: number) => new Date(now.getTime() - hours * 60 * 60_000);
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

    const report = await sweepIdleSignalQueues(
      {
        inventory: sqsSignalQueueInventory(aws.sqs),
        namePrefixes: [workers.name_prefix, environments.name_prefix],
        now: () => now,
      },
      { idleMs: DAY_MS, maxQueuesPerRun: 100, timeBudgetMs: 30_000 },
    );

    expect(report).toEqual({ examined: 5, deleted: 2, failures: 0, truncated: false });
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

  it("stops at its budget, and the next run goes on", async () => {
    const aws = await provisionIsolatedStack({ workers: [] });
    const { workers } = aws.resources.signal_channels;
    const longAgo = new Date("2026-01-01T00:00:00.000Z");
    for (const id of ["a", "b", "c"])
      await ensureSignalQueue(aws.sqs, ownerQueueSettings(workers), `worker-${id}`, longAgo);
    const sweep = () =>
      sweepIdleSignalQueues(
        {
          inventory: sqsSignalQueueInventory(aws.sqs),
          namePrefixes: [workers.name_prefix],
          now: () => new Date("2026-11-26T12:00:00.000Z"),
        },
        { idleMs: DAY_MS, maxQueuesPerRun: 2, timeBudgetMs: 30_000 },
      );

    expect(await sweep()).toMatchObject({ deleted: 2, truncated: true });
    expect(await sweep()).toMatchObject({ deleted: 1, truncated: false });
  });
});
