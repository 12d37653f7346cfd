import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import * as z from "zod/mini";
import { stopTargetSchema } from "./execution.js";
import type { CleanupQueries, IndexPage } from "./executions/cleanup-queries.js";
import { taskDurationDeadline } from "./executions/deadlines.js";
import { allShards, indexAttributes } from "./executions/indexes.js";
import {
  type DeadlineRewrite,
  type DeadlineRewriteRecorder,
  ORGANIZATION_LIMITS_TTL_MS,
  type OrganizationLimitsDirectory,
} from "./executions/limits-store.js";
import { runDurationGuard } from "./guards.js";
import { readLimitCrossing } from "./limits.js";
import { isQueueGone, type StopSignalPublisher } from "./signals/publisher.js";
import type { StopTaskDependencies } from "./stop-task.js";
import type { StopTaskInvocation, StopTaskInvocationResult } from "./stop-task-invocation.js";
import { formatTimestamp, timestampMillis } from "./timestamp.js";

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
 *    the usage travel in the stop message and the direct-invoke contract carries neither. It
 *    reads only the tasks whose duration deadline has passed (lib/executions/deadlines.ts).
 * Each run is bounded (items per job, and time) and safe to overlap with another run.
 */

export const CLEANUP_REQUESTER = "system:cleanup";
export type StuckReason = "stale_heartbeat" | "max_duration_exceeded";

export interface CleanupSettings {
  readonly signalAckTimeoutMs: number;
  readonly signalMaxAttempts: number;
  readonly staleHeartbeatMs: number;
  readonly maxExecutionMs: number;
  /** Items each job (re-drive, stale, duration guard, over-long) takes at most in a run. */
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
  readonly guards: {
    readonly stop: StopTaskDependencies;
    readonly organizationLimits: OrganizationLimitsDirectory;
    /** Where an organization's deadline rewrite got to, on its limits item. */
    readonly recordDeadlineRewrite: DeadlineRewriteRecorder;
  };
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
  /** Duration deadlines moved: a due task found under a limit that rose, or an organization's default changed. */
  deadlinesRewritten: number;
  failures: number;
  /** True when the run stopped early on its item or time budget; the next run continues. */
  truncated: boolean;
}

const PAGE_SIZE = 25;
/** A due task whose guard failed is tried again this long after, behind the tasks due before then. */
const DUE_RETRY_MS = 60_000;
/** Items of an organization's rewrite read per query, and per run (a filtered read: most are other organizations'). */
const DEADLINE_REWRITE_PAGE_SIZE = 250;
const DEADLINE_REWRITE_READS_PER_RUN = 5_000;

/** Where an organization's deadline rewrite stopped: the shard, and the page in it. Anything unreadable starts over. */
const rewriteCursorSchema = z.object({
  shard: z.int().check(z.nonnegative()),
  page: z.optional(z.record(z.string(), z.record(z.string(), z.string()))),
});
type RewriteCursor = { readonly shard: number; readonly page?: Record<string, AttributeValue> };

function readRewriteCursor(text: string | undefined): RewriteCursor {
  if (text === undefined) return { shard: 0 };
  try {
    const parsed = rewriteCursorSchema.safeParse(JSON.parse(text));
    return parsed.success ? (parsed.data as RewriteCursor) : { shard: 0 };
  } catch {
    return { shard: 0 };
  }
}
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
    deadlinesRewritten: 0,
    failures: 0,
    truncated: false,
  };
  const startedAt = Date.now();
  const withinTime = () => Date.now() - startedAt < settings.timeBudgetMs;

  /** One job over its index: its own item budget, so that a backlog in one never starves the jobs after it. */
  async function forEachItem(
    shards: readonly string[],
    fetchPage: (shard: string, page?: Record<string, AttributeValue>) => Promise<IndexPage>,
    handle: (item: Record<string, unknown>) => Promise<void>,
    job: string,
  ): Promise<void> {
    let itemsTaken = 0;
    const hasBudget = () => {
      const within = itemsTaken < settings.maxItemsPerRun && withinTime();
      if (!within) report.truncated = true;
      return within;
    };
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
        // A guard's stop carries the limit it crossed: the re-sent message says the same as the first.
        limit: readLimitCrossing(item.stop_limit),
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
  // The duration guard, before the over-long stop so that a task over its limit is stopped with its
  // guard's reason. It reads the tasks whose duration deadline has passed (lib/executions/deadlines.ts),
  // earliest first, and no other. Each one it reads leaves the due range: stopped (it leaves the
  // liveness indexes), found under its limit (it rose since) and given its new deadline, found
  // finished and its deadline retired, or failed and tried again after the others. So a run cut
  // short by its budget is taken up by the next one where it stopped, with no cursor to keep.
  const directory = await deps.guards.organizationLimits();
  const deadlineOf = (item: Record<string, unknown>) =>
    taskDurationDeadline(
      { organization_id: item.organization_id, limits: item.limits, activeSince: item[indexAttributes.activeSince] },
      (organizationId: string) => directory.defaults.get(organizationId),
    );
  const guardDuration = async (item: Record<string, unknown>) => {
    const taskId = String(item.id);
    const seen = String(item[indexAttributes.deadlineAt]);
    try {
      const guard = await runDurationGuard(item, {
        now,
        organizationDefaults: directory.defaults,
        stop: deps.guards.stop,
      });
      if (guard?.outcome === "stopped") report.stoppedOverDurationLimit += 1;
      else if (guard === undefined) {
        const deadline = await deadlineOf(item);
        if (deadline !== undefined && deadline !== seen && (await deps.queries.setDeadline(taskId, seen, deadline)))
          report.deadlinesRewritten += 1;
      } else {
        // Finished meanwhile (`unchanged`, readable or not), gone, or refused: no longer due. The retirement's own
        // condition leaves a task that still runs as it is.
        await deps.queries.retireDeadline(taskId, seen);
      }
    } catch (error) {
      const retryAt = formatTimestamp(new Date(now.getTime() + DUE_RETRY_MS));
      // Best effort: were this write to fail too, the task is simply tried first again next run.
      await deps.queries.setDeadline(taskId, seen, retryAt).catch(() => false);
      throw error;
    }
  };
  await forEachItem(
    allShards("active"),
    (shard, page) => deps.queries.dueDeadlines(shard, dueBy, PAGE_SIZE, page),
    guardDuration,
    "duration_limit",
  );
  await forEachItem(
    allShards("active"),
    (shard, page) => deps.queries.startedBefore(shard, startedBefore, PAGE_SIZE, page),
    (item) => stopStuck(item, "max_duration_exceeded"),
    "max_duration",
  );

  // Last, with the time left: the deadlines of organizations whose default changed, once the
  // stream processor can no longer hold the old default (ORGANIZATION_LIMITS_TTL_MS). Found
  // without an index of their own: the active-by-start index filtered by organization is read
  // whole, page by page across runs, once a change (a rare operator act; a second index would
  // cost every running task's writes, always). It also gives a deadline to a task that has none
  // (one running before deadlines existed). A lowered default's tasks are then due, in the next run.
  async function rewriteDeadlines(rewrite: DeadlineRewrite): Promise<boolean> {
    const shards = allShards("active");
    let position = readRewriteCursor(rewrite.cursor);
    let itemsRead = 0;
    while (position.shard < shards.length) {
      if (itemsRead >= DEADLINE_REWRITE_READS_PER_RUN || !withinTime()) {
        report.truncated = true;
        await deps.guards.recordDeadlineRewrite(rewrite, JSON.stringify(position));
        return false;
      }
      const page = await deps.queries.activeOfOrganization(
        shards[position.shard] as string,
        rewrite.organizationId,
        DEADLINE_REWRITE_PAGE_SIZE,
        position.page,
      );
      itemsRead += DEADLINE_REWRITE_PAGE_SIZE;
      await Promise.all(
        page.items.map(async (item) => {
          const seen = item[indexAttributes.deadlineAt];
          const deadline = await deadlineOf(item);
          if (deadline === undefined || deadline === seen) return;
          try {
            const seenDeadline = typeof seen === "string" ? seen : undefined;
            if (await deps.queries.setDeadline(String(item.id), seenDeadline, deadline)) report.deadlinesRewritten += 1;
          } catch (error) {
            report.failures += 1;
            deps.onItemFailure?.(String(item.id), "deadline_rewrite", error);
          }
        }),
      );
      position = page.nextPage ? { shard: position.shard, page: page.nextPage } : { shard: position.shard + 1 };
    }
    await deps.guards.recordDeadlineRewrite(rewrite, undefined);
    return true;
  }
  for (const rewrite of directory.deadlineRewrites) {
    const changedAt = timestampMillis(rewrite.updatedAt) ?? now.getTime();
    if (now.getTime() - changedAt < ORGANIZATION_LIMITS_TTL_MS) continue;
    if (!(await rewriteDeadlines(rewrite))) break;
  }
  return report;
}
