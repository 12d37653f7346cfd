import type { ServiceEventPublisher } from "../events/publishers.js";
import { INDEX_SHARDS } from "../resources.js";
import {
  BULK_STOP_REASON,
  bulkStoppedBy,
  HELD_STOP_REASON,
  type StopTaskDependencies,
  stopTask,
} from "../stop-task.js";
import { formatTimestamp } from "../timestamp.js";
import { type BulkStopCompletedEvent, bulkStopCompletedEvent } from "./events.js";
import type { ScopedTaskReader } from "./scoped-tasks.js";
import { type BulkStop, type BulkStopCounts, type BulkStopStore, noCounts, SHARD_DONE } from "./store.js";

/**
 * Runs a bulk stop: every shard of the organization's index, page by page; each task of a page stopped through the
 * same core as any stop (`stopTask`, one conditional write and one message), a few at a time; then the page's counts
 * and the shard's next cursor saved in one conditional write. A run that crashes, or runs out of time, leaves the
 * last saved cursor: the next run redoes at most the page it was in. A task that page already stopped is `unchanged`
 * with this bulk stop as `stopped_by`, so it is counted as stopped again and not stopped twice. When every shard is
 * done, the Bulk Stop Completed event goes out, then the bulk stop is marked done (a crash between the two repeats
 * the event, with the same idempotency key).
 */

export interface BulkStopRunDependencies {
  readonly store: BulkStopStore;
  readonly tasks: ScopedTaskReader;
  readonly stop: StopTaskDependencies;
  readonly publishEvents: ServiceEventPublisher<BulkStopCompletedEvent>;
  readonly now: () => Date;
  /** Milliseconds left before the run must stop taking pages (Lambda's remaining time minus a margin). */
  readonly timeLeftMs: () => number;
  /** Stops of one shard's page in flight at once. */
  readonly stopsInFlight?: number;
}

export type BulkStopRunResult =
  | { readonly kind: "done"; readonly bulkStop: BulkStop }
  | { readonly kind: "already_done" | "not_found" }
  /** Out of time: a new run goes on from the saved cursors. */
  | { readonly kind: "continue" };

const DEFAULT_STOPS_IN_FLIGHT = 8;

interface PageTally extends Record<keyof BulkStopCounts, number> {
  failedTaskIds: string[];
}

async function stopPage(
  bulkStop: BulkStop,
  taskIds: readonly string[],
  deps: BulkStopRunDependencies,
): Promise<PageTally> {
  const tally: PageTally = { ...noCounts, failedTaskIds: [] };
  const ours = bulkStoppedBy(bulkStop.stop_id);
  let next = 0;
  const worker = async () => {
    while (next < taskIds.length) {
      const taskId = taskIds[next++] as string;
      try {
        const outcome = await stopTask(
          {
            taskId,
            requester: { kind: "bulk", organizationId: bulkStop.organization_id, stopId: bulkStop.stop_id },
            reason: BULK_STOP_REASON,
            ...(bulkStop.reason === null ? {} : { note: bulkStop.reason }),
          },
          deps.stop,
        );
        switch (outcome.kind) {
          // Another organization's task cannot be in this organization's partition; were one there (its
          // organization rewritten since it was indexed), the write refused it: never counted, never touched.
          case "forbidden":
            continue;
          case "not_found":
            tally.matched += 1;
            tally.already_terminal += 1;
            continue;
          case "stopped":
            tally.matched += 1;
            tally.stopped += 1;
            continue;
          case "unreadable":
            tally.matched += 1;
            tally.stopped += 1;
            continue;
          case "unchanged":
            tally.matched += 1;
            // Stopped by this bulk stop in a run that did not save its page: counted once, here. One its hold
            // stopped at birth between the index write and this page's read was counted as held: not again.
            if (outcome.execution.stopped_by === ours && outcome.execution.stop_reason !== HELD_STOP_REASON)
              tally.stopped += 1;
            else tally.already_terminal += 1;
            continue;
        }
      } catch {
        tally.matched += 1;
        tally.failed += 1;
        tally.failedTaskIds.push(taskId);
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(deps.stopsInFlight ?? DEFAULT_STOPS_IN_FLIGHT, taskIds.length) }, worker),
  );
  return tally;
}

async function runShard(stopId: string, shard: number, deps: BulkStopRunDependencies): Promise<"done" | "continue"> {
  let bulkStop = await deps.store.get(stopId);
  for (;;) {
    if (!bulkStop || bulkStop.status === "done") return "done";
    const progress = bulkStop.shards[shard] ?? { cursor: SHARD_DONE, version: 0 };
    if (progress.cursor === SHARD_DONE) return "done";
    if (deps.timeLeftMs() <= 0) return "continue";
    let version = progress.version;
    let page = progress.inFlight;
    if (!page) {
      const read = await deps.tasks.page(bulkStop.organization_id, shard, bulkStop.scope, progress.cursor);
      page = { taskIds: read.taskIds, next: read.next ?? SHARD_DONE };
      // The page is recorded before its first stop: a stopped task leaves the index, and a run that dies mid-page
      // finds the page here, not in the index.
      if (!(await deps.store.beginShardPage(stopId, shard, version, page))) {
        bulkStop = await deps.store.get(stopId);
        continue;
      }
      version += 1;
    }
    const tally = await stopPage(bulkStop, page.taskIds, deps);
    const saved = await deps.store.saveShardPage(stopId, shard, version, page.next, tally);
    if (saved) {
      const next = page.next;
      const shards = bulkStop.shards.map((each, index) =>
        index === shard ? { cursor: next, version: version + 1 } : each,
      );
      bulkStop = { ...bulkStop, shards };
    } else {
      // Another run of this bulk stop saved this page first: go on from where it got to.
      bulkStop = await deps.store.get(stopId);
    }
  }
}

export async function runBulkStop(stopId: string, deps: BulkStopRunDependencies): Promise<BulkStopRunResult> {
  const bulkStop = await deps.store.get(stopId);
  if (!bulkStop) return { kind: "not_found" };
  if (bulkStop.status === "done") return { kind: "already_done" };
  const shards = await Promise.all(Array.from({ length: INDEX_SHARDS }, (_, shard) => runShard(stopId, shard, deps)));
  if (shards.includes("continue")) return { kind: "continue" };
  const finished = await deps.store.get(stopId);
  if (!finished) return { kind: "not_found" };
  if (finished.status === "done") return { kind: "already_done" };
  const completedAt = formatTimestamp(deps.now());
  await deps.publishEvents([bulkStopCompletedEvent({ ...finished, completed_at: completedAt })]);
  await deps.store.complete(stopId, completedAt);
  return { kind: "done", bulkStop: { ...finished, status: "done", completed_at: completedAt } };
}
