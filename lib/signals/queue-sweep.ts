import {
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ListQueuesCommand,
  ListQueueTagsCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { timestampMillis } from "../timestamp.js";
import { isQueueGone } from "./publisher.js";
import { LAST_SEEN_TAG } from "./queue-names.js";

/**
 * The sweep of owners' queues: a worker that vanishes leaves its queue behind, so the cleanup
 * (hourly) lists the queues of each channel by name prefix and deletes those whose owner has not
 * refreshed its last-seen tag for `idleMs` (a day). A live worker refreshes it every ten minutes
 * (lib/worker/signal-queue.ts), so only queues of workers long gone are deleted; a stop for such
 * a worker then finds no queue, and the re-drive retries, then flags it, as for any vanished worker.
 *
 * Coverage (docs/stop-delivery.md, "Cleaning up after workers that vanish"): a run lists every
 * queue of every channel, page by page as SQS pages (NextToken; one call per 1,000 names, while
 * judging a queue costs one or two calls), and sorts the names itself, since SQS promises no
 * order. The queues of all channels form one ring in name order; a run judges up to its cap of
 * them, starting just after the last one the previous run judged (the resume position, kept in
 * the sweep-positions table), and records the last one it judged. A run deletes only queues behind
 * the position, so what lies ahead never shifts: with T queues and a cap of C, every queue is
 * judged within ceil(T / C) runs, whatever order SQS lists them in and whichever channel they
 * belong to, as long as each run judges its cap within its time (the report says `truncated`).
 */

/** The hourly schedule's input to the cleanup function: this sweep instead of its every-minute run. */
export const SWEEP_SIGNAL_QUEUES_JOB = "sweep-signal-queues";

/** Queues one run judges at most (the cleanup's setting): every queue is judged within ceil(total / this) runs. */
export const SWEEP_MAX_QUEUES_PER_RUN = 5_000;

/** Queues judged at once: each judgement is one or two SQS calls, so the run's time goes on the network. */
const JUDGED_CONCURRENTLY = 10;

export interface SignalQueueInventory {
  /** One page of the URLs of the queues whose name starts with `namePrefix`. */
  listQueues(
    namePrefix: string,
    nextToken?: string,
  ): Promise<{ readonly urls: readonly string[]; readonly nextToken?: string }>;
  /** When its owner last said it lives (the tag), else when it was made; undefined when the queue is gone. */
  lastSeen(queueUrl: string): Promise<number | undefined>;
  deleteQueue(queueUrl: string): Promise<void>;
}

/** Where a sweep over a set of channels resumes: the name of the last queue the previous run judged. */
export interface SweepPositions {
  read(sweep: string): Promise<string | undefined>;
  write(sweep: string, lastJudged: string): Promise<void>;
}

export interface SweepSettings {
  /** A queue whose owner has not been seen for this long is deleted. */
  readonly idleMs: number;
  /** Queues judged per run, over all channels. */
  readonly maxQueuesPerRun: number;
  /** The sweep stops looking at more queues when this many milliseconds have passed. */
  readonly timeBudgetMs: number;
}

export interface SweepDependencies {
  readonly inventory: SignalQueueInventory;
  readonly positions: SweepPositions;
  /** The channels' name prefixes: `<prefix>-worker-`, `<prefix>-env-`. */
  readonly namePrefixes: readonly string[];
  readonly now: () => Date;
  readonly onQueueFailure?: (queueUrl: string, error: unknown) => void;
}

export interface SweepReport {
  /** Queues the listings returned, over all channels. */
  listed: number;
  examined: number;
  deleted: number;
  failures: number;
  /** Some queue listed was not judged in this run (cap or time): the next run goes on after the last judged. */
  truncated: boolean;
}

interface ListedQueue {
  readonly name: string;
  readonly url: string;
}

const byName = (a: ListedQueue, b: ListedQueue) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** The queues after `lastJudged` in name order, then, wrapping round, those up to it. */
function fromResumePosition(queues: readonly ListedQueue[], lastJudged?: string): ListedQueue[] {
  if (lastJudged === undefined) return [...queues];
  const start = queues.findIndex((queue) => queue.name > lastJudged);
  return start === -1 ? [...queues] : [...queues.slice(start), ...queues.slice(0, start)];
}

export async function sweepIdleSignalQueues(deps: SweepDependencies, settings: SweepSettings): Promise<SweepReport> {
  const report: SweepReport = { listed: 0, examined: 0, deleted: 0, failures: 0, truncated: false };
  const startedAt = Date.now();
  const idleBefore = deps.now().getTime() - settings.idleMs;
  const withinTime = () => Date.now() - startedAt < settings.timeBudgetMs;
  // One ring per set of channels: its position key names them all.
  const sweep = deps.namePrefixes.join(" ");

  /** Every queue of the channels, or undefined when the time ran out first (a partial list has no order to resume in). */
  async function listAll(): Promise<ListedQueue[] | undefined> {
    const byUrl = new Map<string, ListedQueue>();
    for (const namePrefix of deps.namePrefixes) {
      let nextToken: string | undefined;
      do {
        if (!withinTime()) return undefined;
        const page = await deps.inventory.listQueues(namePrefix, nextToken);
        for (const url of page.urls) byUrl.set(url, { name: url.slice(url.lastIndexOf("/") + 1), url });
        nextToken = page.nextToken;
      } while (nextToken);
    }
    return [...byUrl.values()].sort(byName);
  }

  async function judge(queueUrl: string): Promise<void> {
    try {
      const lastSeen = await deps.inventory.lastSeen(queueUrl);
      // Unknown (gone meanwhile) or seen lately: leave it.
      if (lastSeen === undefined || lastSeen >= idleBefore) return;
      await deps.inventory.deleteQueue(queueUrl);
      report.deleted += 1;
    } catch (error) {
      report.failures += 1;
      deps.onQueueFailure?.(queueUrl, error);
    }
  }

  const queues = await listAll();
  if (!queues) return { ...report, truncated: true };
  report.listed = queues.length;
  if (queues.length === 0) return report;

  const due = fromResumePosition(queues, await deps.positions.read(sweep)).slice(0, settings.maxQueuesPerRun);
  let lastJudged: string | undefined;
  for (let start = 0; start < due.length && withinTime(); start += JUDGED_CONCURRENTLY) {
    const batch = due.slice(start, start + JUDGED_CONCURRENTLY);
    await Promise.all(batch.map((queue) => judge(queue.url)));
    report.examined += batch.length;
    lastJudged = batch.at(-1)?.name;
  }
  if (lastJudged !== undefined) await deps.positions.write(sweep, lastJudged);
  report.truncated = report.examined < queues.length;
  return report;
}

export function sqsSignalQueueInventory(client: SQSClient): SignalQueueInventory {
  return {
    async listQueues(namePrefix, nextToken) {
      const { QueueUrls = [], NextToken } = await client.send(
        new ListQueuesCommand({
          QueueNamePrefix: namePrefix,
          MaxResults: 1000,
          ...(nextToken ? { NextToken: nextToken } : {}),
        }),
      );
      return { urls: QueueUrls, ...(NextToken ? { nextToken: NextToken } : {}) };
    },

    async lastSeen(queueUrl) {
      try {
        const { Tags = {} } = await client.send(new ListQueueTagsCommand({ QueueUrl: queueUrl }));
        const tagged = timestampMillis(Tags[LAST_SEEN_TAG]);
        if (tagged !== undefined) return tagged;
        // No tag (made by hand, or by a worker without the library): its age is all there is.
        const { Attributes = {} } = await client.send(
          new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["CreatedTimestamp"] }),
        );
        return timestampMillis(Attributes.CreatedTimestamp);
      } catch (error) {
        if (isQueueGone(error)) return undefined;
        throw error;
      }
    },

    async deleteQueue(queueUrl) {
      try {
        await client.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
      } catch (error) {
        if (!isQueueGone(error)) throw error;
      }
    },
  };
}
