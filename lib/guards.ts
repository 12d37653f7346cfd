import { isActive } from "./execution.js";
import type { OrganizationLimitsReader } from "./executions/limits-store.js";
import { crossedLimit, effectiveLimits, guards, hasAnyLimit, type LimitCrossing, readStoredLimits, readUsage } from "./limits.js";
import type { ExecutionChange, ExecutionImage } from "./stream/execution-change.js";
import { type StopTaskDependencies, type StopTaskOutcome, stopTask } from "./stop-task.js";

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
  const organizationId = newImage.organization_id;
  const organizationDefaults = organizationId === "" ? {} : await deps.organizationLimits(organizationId);
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
