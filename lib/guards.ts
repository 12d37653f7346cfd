import { isActive, readOrganizationId } from "./execution.js";
import { type DeadlineWrites, taskDurationDeadline } from "./executions/deadlines.js";
import { indexAttributes } from "./executions/indexes.js";
import type { OrganizationLimitsReader } from "./executions/limits-store.js";
import {
  crossedLimit,
  effectiveLimits,
  guards,
  hasAnyLimit,
  type LimitCrossing,
  type Limits,
  readStoredLimits,
  readUsage,
} from "./limits.js";
import { type StopTaskDependencies, type StopTaskOutcome, stopTask } from "./stop-task.js";
import type { ExecutionChange, ExecutionImage } from "./stream/execution-change.js";
import { timestampMillis } from "./timestamp.js";

/**
 * The runaway guards on the executions table's stream: when a write to a running execution puts
 * its usage over the limit in force (the task's own `limits`, each beating the organization's
 * default), the task is stopped through the stop core, as its organization, signed by the guard.
 * The core's conditional write makes every repeat (a retried record, a later usage write racing
 * the stop) a no-op: the task is stopped once, with one message and one Task Stopped event.
 */

export interface GuardDependencies {
  readonly stop: StopTaskDependencies;
  readonly organizationLimits: OrganizationLimitsReader;
}

export interface GuardReport {
  readonly taskId: string;
  readonly crossing: LimitCrossing;
  readonly outcome: StopTaskOutcome["kind"];
}

const sameJson = (left: unknown, right: unknown) => JSON.stringify(left ?? null) === JSON.stringify(right ?? null);

/**
 * Whether the record can have put the task over a limit: it runs, and it is new, or its usage or
 * its own limits changed. Any other write (a heartbeat) is passed over without a read.
 */
function mayHaveCrossed(oldImage: ExecutionImage | undefined, newImage: ExecutionImage): boolean {
  if (!isActive(newImage.status)) return false;
  if (!oldImage) return true;
  return (
    !sameJson(oldImage.tokens, newImage.tokens) ||
    !sameJson(oldImage.used_tools, newImage.used_tools) ||
    !sameJson(oldImage.duration, newImage.duration) ||
    oldImage.limits_set_at !== newImage.limits_set_at ||
    !sameJson(oldImage.limits, newImage.limits)
  );
}

export async function runGuards(change: ExecutionChange, deps: GuardDependencies): Promise<GuardReport | undefined> {
  const { oldImage, newImage } = change;
  if (!newImage || !mayHaveCrossed(oldImage, newImage)) return undefined;
  const usage = readUsage(newImage);
  if (usage.tokens === 0 && usage.toolCalls === 0 && usage.durationSeconds === 0) return undefined;
  // A task that names no organization is stopped by no guard: its stop would have no tenancy to run under.
  const organizationId = readOrganizationId(newImage.organization_id);
  if (organizationId === undefined) return undefined;
  const organizationDefaults = await deps.organizationLimits(organizationId);
  const limits = effectiveLimits(readStoredLimits(newImage.limits), organizationDefaults);
  if (!hasAnyLimit(limits)) return undefined;
  const crossing = crossedLimit(usage, limits);
  if (!crossing) return undefined;
  const guard = guards[crossing.limit_name];
  const outcome = await stopTask(
    {
      taskId: newImage.id,
      requester: { kind: "guard", organizationId, guard: guard.stoppedBy },
      reason: guard.reason,
      limit: crossing,
    },
    deps.stop,
  );
  return { taskId: newImage.id, crossing, outcome: outcome.kind };
}

/** The time a running execution has been active, in whole seconds, from its `active-by-start` index key. */
function activeSeconds(item: Record<string, unknown>, now: Date): number | undefined {
  const since = timestampMillis(item[indexAttributes.activeSince]);
  return since === undefined ? undefined : Math.floor((now.getTime() - since) / 1000);
}

/**
 * The duration guard, run by the cleanup on an item of the `active-by-start` index: when the time
 * the task has been active is above its `max_duration_seconds` in force (its own, else its
 * organization's), it is stopped through the stop core exactly as the stream's guards stop, with
 * the limit and the time as the usage. Under its limit, or without one, the task is not touched.
 */
export async function runDurationGuard(
  item: Record<string, unknown>,
  context: {
    readonly now: Date;
    readonly organizationDefaults: ReadonlyMap<string, Limits>;
    readonly stop: StopTaskDependencies;
  },
): Promise<GuardReport | undefined> {
  const taskId = String(item.id);
  // A task that names no organization is stopped by no guard, as on the stream (its deadline is none).
  const organizationId = readOrganizationId(item.organization_id);
  if (organizationId === undefined) return undefined;
  const limits = effectiveLimits(readStoredLimits(item.limits), context.organizationDefaults.get(organizationId));
  const durationSeconds = activeSeconds(item, context.now);
  if (durationSeconds === undefined) return undefined;
  const crossing = crossedLimit({ tokens: 0, toolCalls: 0, durationSeconds }, limits, ["max_duration_seconds"]);
  if (!crossing) return undefined;
  const guard = guards[crossing.limit_name];
  const outcome = await stopTask(
    {
      taskId,
      requester: { kind: "guard", organizationId, guard: guard.stoppedBy },
      reason: guard.reason,
      limit: crossing,
    },
    context.stop,
  );
  return { taskId, crossing, outcome: outcome.kind };
}

/**
 * The duration deadline of a running task with a start, kept as the stream sees it change (its
 * insert, its first heartbeat, its own limits): computed from its own limit, else its
 * organization's default (read only then), and written only when it differs from the stored one,
 * conditionally on both, so that the record of this write, which changes neither, ends here.
 */
export async function keepDurationDeadline(
  image: ExecutionImage,
  deps: { readonly organizationLimits: OrganizationLimitsReader; readonly deadlines: DeadlineWrites },
): Promise<"written" | "kept" | undefined> {
  if (!isActive(image.status) || !image.idx_active_since) return undefined;
  const deadline = await taskDurationDeadline(
    { organization_id: image.organization_id, limits: image.limits, activeSince: image.idx_active_since },
    deps.organizationLimits,
  );
  if (deadline === undefined || deadline === image.idx_deadline_at) return "kept";
  return (await deps.deadlines.setDeadline(image.id, image.idx_deadline_at ?? undefined, deadline))
    ? "written"
    : "kept";
}
