import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { stopTargetSchema } from "./execution.js";
import type { CleanupQueries, IndexPage } from "./executions/cleanup-queries.js";
import { allShards, indexAttributes } from "./executions/indexes.js";
import type { OrganizationLimitsDirectory } from "./executions/limits-store.js";
import { runDurationGuard } from "./guards.js";
import { isQueueGone, type StopSignalPublisher } from "./signals/publisher.js";
import type { StopTaskDependencies } from "./stop-task.js";
import type { StopTaskInvocation, StopTaskInvocationResult } from "./stop-task-invocation.js";
import { formatTimestamp } from "./timestamp.js";

/**
 * The scheduled cleanup. Two jobs, both found through sparse indexes:
 * 1. re-drive: a stopped execution whose worker has not acknowledged gets its signal again, with
 *    backoff, until `maxAttempts`; then it is flagged for an operator (and a metric alarms). A
 *    worker whose queue is gone (it vanished, and the sweep removed its queue) gets the same
 *    attempts, in case it comes back under its id, then the same flag; one that no worker or
 *    environment runs is closed without a signal, since nothing runs it;
 * 2. stuck executions: a stale heartbeat or an over-long run is stopped through the stop
 *    function's direct-invoke contract, so cleanup and users share one path;
 * 3. the duration guard: a task active longer than its `max_duration_seconds` is stopped through
 *    the stop core in-process, as the stream's guards stop (lib/guards.ts), since the limit and
 *    the usage travel in the stop message and the direct-invoke contract carries neither.
 * Each run is bounded (items and time) and safe to overlap with another run.
 */

export const CLEANUP_REQUESTER = "system:cleanup";
export type StuckReason = "stale_heartbeat" | "max_duration_exceeded";

export interface CleanupSettings {
  readonly signalAckTimeoutMs: number;
  readonly signalMaxAttempts: number;
  readonly staleHeartbeatMs: number;
  readonly maxExecutionMs: number;
  readonly maxItemsPerRun: number;
  /** The run stops taking new work when this many milliseconds are left (a Lambda passes its remaining time). */
  readonly timeBudgetMs: number;
  /** Longest wait between two re-sends. */
  readonly maxBackoffMs?: number;
}

export interface CleanupDependencies {
  readonly queries: CleanupQueries;
  readonly publishStopSignal: StopSignalPublisher;
  readonly invokeStop: (invocation: StopTaskInvocation) => Promise<StopTaskInvocationResult>;
  readonly now: () => Date;
  /** The duration guard's stop core and every organization's default limits (one read a run). */
  readonly guards: { readonly stop: StopTaskDependencies; readonly organizationLimits: OrganizationLimitsDirectory };
  /** Where failures of single items are told; the run goes on with the next item. */
  readonly onItemFailure?: (taskId: string, job: string, error: unknown) => void;
}

export interface CleanupReport {
  redriven: number;
  /** Re-sends whose owner's queue no longer exists: an attempt spent, the flag comes after the last. */
  ownerQueueGone: number;
  /** Stops of executions no worker or environment runs: closed without a signal. */
  closedUnassigned: number;
  flagged: number;
  stoppedStale: number;
  stoppedOverlong: number;
  /** Tasks stopped by the duration guard: active longer than their `max_duration_seconds`. */
  stoppedOverDurationLimit: number;
  failures: number;
  /** True when the run stopped early on its item or time budget; the next run continues. */
  truncated: boolean;
}

const PAGE_SIZE = 25;
const DEFAULT_MAX_BACKOFF_MS = 15 * 60_000;

export async function runCleanup(deps: CleanupDependencies, settings: CleanupSettings): Promise<CleanupReport> {
  const report: CleanupReport = {
    redriven: 0,
    ownerQueueGone: 0,
    closedUnassigned: 0,
    flagged: 0,
    stoppedStale: 0,
    stoppedOverlong: 0,
    stoppedOverDurationLimit: 0,
    failures: 0,
    truncated: false,
  };
  const startedAt = Date.now();
  let itemsTaken = 0;
  const hasBudget = () => {
    const within = itemsTaken < settings.maxItemsPerRun && Date.now() - startedAt < settings.timeBudgetMs;
    if (!within) report.truncated = true;
    return within;
  };

  async function forEachItem(
    shards: readonly string[],
    fetchPage: (shard: string, page?: Record<string, AttributeValue>) => Promise<IndexPage>,
    handle: (item: Record<string, unknown>) => Promise<void>,
    job: string,
  ): Promise<void> {
    for (const shard of shards) {
      let page: Record<string, AttributeValue> | undefined;
      do {
        if (!hasBudget()) return;
        const result = await fetchPage(shard, page);
        for (const item of result.items) {
          if (!hasBudget()) return;
          itemsTaken += 1;
          try {
            await handle(item);
          } catch (error) {
            report.failures += 1;
            deps.onItemFailure?.(String(item.id), job, error);
          }
        }
        page = result.nextPage;
      } while (page);
    }
  }

  const backoffMs = (attempt: number) =>
    Math.min(settings.signalAckTimeoutMs * 2 ** (attempt - 1), settings.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS);

  async function redrive(item: Record<string, unknown>): Promise<void> {
    const taskId = String(item.id);
    const seenDueAt = String(item[indexAttributes.signalDueAt]);
    const attemptsSoFar = typeof item.signal_attempts === "number" ? item.signal_attempts : 0;
    const now = deps.now();
    if (attemptsSoFar >= settings.signalMaxAttempts) {
      if (await deps.queries.flagUndeliverable(taskId, seenDueAt, formatTimestamp(now))) report.flagged += 1;
      return;
    }
    // Only the routing fields: a record that breaks the public schema elsewhere still gets its signal.
    const target = stopTargetSchema.parse({ ...item, id: taskId });
    if (!target.worker_id && !target.environment_id) {
      // Nothing runs it, so no one can acknowledge: waiting would only end in a false flag. A
      // worker that takes it anyway hears of the stop from its first heartbeat.
      if (await deps.queries.closeUnassigned(taskId, seenDueAt, formatTimestamp(now))) report.closedUnassigned += 1;
      return;
    }
    const attempt = attemptsSoFar + 1;
    const nextDueAt = formatTimestamp(new Date(now.getTime() + backoffMs(attempt)));
    if (!(await deps.queries.claimRedrive(taskId, seenDueAt, attempt, nextDueAt))) return;
    try {
      await deps.publishStopSignal(target, {
        requestedAt: target.stopped_at ?? formatTimestamp(now),
        requestedBy: target.stopped_by ?? CLEANUP_REQUESTER,
        reason: target.stop_reason ?? "unknown",
        note: target.stop_note,
      });
    } catch (error) {
      if (!isQueueGone(error)) throw error;
      // Its worker vanished (or never made its queue): this attempt is spent like any other.
      report.ownerQueueGone += 1;
      return;
    }
    if (typeof item.signal_pending_since === "string")
      await deps.queries.clearSignalPending(taskId, item.signal_pending_since);
    report.redriven += 1;
  }

  async function stopStuck(item: Record<string, unknown>, reason: StuckReason): Promise<void> {
    const result = await deps.invokeStop({
      action: "stop_task",
      task_id: String(item.id),
      reason,
      requested_by: CLEANUP_REQUESTER,
    });
    if (!result.ok) {
      if (result.error.type === "not_found") return;
      throw new Error(`stop of ${String(item.id)} failed: ${result.error.type}`);
    }
    // "unchanged": another run, a user or the worker finished it first.
    if (result.outcome !== "stopped") return;
    if (reason === "stale_heartbeat") report.stoppedStale += 1;
    else report.stoppedOverlong += 1;
  }

  const now = deps.now();
  // Index keys are canonical timestamps (lib/timestamp.ts): bounds in the same form compare as time.
  const dueBy = formatTimestamp(now);
  const heartbeatBefore = formatTimestamp(new Date(now.getTime() - settings.staleHeartbeatMs));
  const startedBefore = formatTimestamp(new Date(now.getTime() - settings.maxExecutionMs));

  await forEachItem(
    allShards("signal"),
    (shard, page) => deps.queries.dueSignals(shard, dueBy, PAGE_SIZE, page),
    redrive,
    "redrive",
  );
  await forEachItem(
    allShards("active"),
    (shard, page) => deps.queries.staleHeartbeats(shard, heartbeatBefore, PAGE_SIZE, page),
    // A paused execution waits for a person, not a worker: silence there is not staleness.
    async (item) => (item.status === "executing" ? stopStuck(item, "stale_heartbeat") : undefined),
    "stale_heartbeat",
  );
  // The duration guard, before the over-long stop so that a task over its limit is stopped with
  // its guard's reason. No scan: on each shard of the index, (1) the tasks active since before now
  // minus the shortest organization default in force (the limits table is small and read whole,
  // once a run): only they can be over a default; (2) the younger ones that carry a limit of their
  // own, which may be any length: a filter on the same index returns only those.
  const organizationDefaults = await deps.guards.organizationLimits();
  const shortestDefaultSeconds = Math.min(
    ...[...organizationDefaults.values()].map((limits) => limits.max_duration_seconds ?? Number.POSITIVE_INFINITY),
  );
  const defaultsBound = Number.isFinite(shortestDefaultSeconds)
    ? formatTimestamp(new Date(now.getTime() - shortestDefaultSeconds * 1000))
    : undefined;
  const guardDuration = async (item: Record<string, unknown>) => {
    const stopped = await runDurationGuard(item, { now, organizationDefaults, stop: deps.guards.stop });
    if (stopped?.outcome === "stopped") report.stoppedOverDurationLimit += 1;
  };
  if (defaultsBound !== undefined) {
    await forEachItem(
      allShards("active"),
      (shard, page) => deps.queries.startedBefore(shard, defaultsBound, PAGE_SIZE, page),
      guardDuration,
      "duration_limit",
    );
  }
  await forEachItem(
    allShards("active"),
    (shard, page) => deps.queries.withOwnDurationLimit(shard, defaultsBound, dueBy, PAGE_SIZE, page),
    guardDuration,
    "duration_limit",
  );
  await forEachItem(
    allShards("active"),
    (shard, page) => deps.queries.startedBefore(shard, startedBefore, PAGE_SIZE, page),
    (item) => stopStuck(item, "max_duration_exceeded"),
    "max_duration",
  );
  return report;
}
