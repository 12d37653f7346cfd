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
 */

/** The hourly schedule's input to the cleanup function: this sweep instead of its every-minute run. */
export const SWEEP_SIGNAL_QUEUES_JOB = "sweep-signal-queues";

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

export interface SweepSettings {
  /** A queue whose owner has not been seen for this long is deleted. */
  readonly idleMs: number;
  readonly maxQueuesPerRun: number;
  /** The sweep stops looking at more queues when this many milliseconds have passed. */
  readonly timeBudgetMs: number;
}

export interface SweepDependencies {
  readonly inventory: SignalQueueInventory;
  /** The channels' name prefixes: `<prefix>-worker-`, `<prefix>-env-`. */
  readonly namePrefixes: readonly string[];
  readonly now: () => Date;
  readonly onQueueFailure?: (queueUrl: string, error: unknown) => void;
}

export interface SweepReport {
  examined: number;
  deleted: number;
  failures: number;
  truncated: boolean;
}

export async function sweepIdleSignalQueues(deps: SweepDependencies, settings: SweepSettings): Promise<SweepReport> {
  const report: SweepReport = { examined: 0, deleted: 0, failures: 0, truncated: false };
  const startedAt = Date.now();
  const idleBefore = deps.now().getTime() - settings.idleMs;
  const hasBudget = () => {
    const within = report.examined < settings.maxQueuesPerRun && Date.now() - startedAt < settings.timeBudgetMs;
    if (!within) report.truncated = true;
    return within;
  };

  for (const namePrefix of deps.namePrefixes) {
    let nextToken: string | undefined;
    do {
      if (!hasBudget()) return report;
      const page = await deps.inventory.listQueues(namePrefix, nextToken);
      for (const queueUrl of page.urls) {
        if (!hasBudget()) return report;
        report.examined += 1;
        try {
          const lastSeen = await deps.inventory.lastSeen(queueUrl);
          // Unknown (gone meanwhile) or seen lately: leave it.
          if (lastSeen === undefined || lastSeen >= idleBefore) continue;
          await deps.inventory.deleteQueue(queueUrl);
          report.deleted += 1;
        } catch (error) {
          report.failures += 1;
          deps.onQueueFailure?.(queueUrl, error);
        }
      }
      nextToken = page.nextToken;
    } while (nextToken);
  }
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
