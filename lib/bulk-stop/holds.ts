import { isActive, readOrganizationId } from "../execution.js";
import { scopeStart } from "../executions/indexes.js";
import type { OrganizationIndexWrites } from "../executions/organization-index.js";
import { HELD_STOP_REASON, type StopTaskDependencies, stopTask } from "../stop-task.js";
import type { ExecutionChange } from "../stream/execution-change.js";
import { formatTimestamp } from "../timestamp.js";
import { inScope } from "./scope.js";
import type { BulkStopStore } from "./store.js";

/**
 * The stream processor's share of bulk stops: it keeps the `active-by-organization` index (a running task enters its
 * organization's partition at the first write the stream shows of it; a task another writer finished leaves it), and
 * a task entering it while a hold of its organization is in force and selects it is stopped there and then, with
 * `stop_reason` `held`: a task that starts, or is inserted, during a hold is stopped at birth.
 */

export interface HoldDependencies {
  readonly organizationIndex: OrganizationIndexWrites;
  readonly holds: Pick<BulkStopStore, "holdsInForce" | "countHeld">;
  readonly stop: StopTaskDependencies;
}

export type HoldReport =
  | { readonly kind: "indexed" | "retired"; readonly taskId: string }
  | { readonly kind: "held"; readonly taskId: string; readonly stopId: string; readonly outcome: string };

export async function keepOrganizationIndex(
  change: ExecutionChange,
  deps: HoldDependencies,
): Promise<HoldReport | undefined> {
  const image = change.newImage;
  if (!image) return undefined;
  if (!isActive(image.status)) {
    if (image.idx_org_shard === null) return undefined;
    return (await deps.organizationIndex.retire(image.id)) ? { kind: "retired", taskId: image.id } : undefined;
  }
  if (image.idx_org_shard !== null) return undefined;
  const now = deps.stop.now();
  const since = scopeStart(image) ?? formatTimestamp(now);
  // A task naming no organization tenancy can rely on enters no organization's partition (a partition of its own,
  // which no caller's key names), so that its next writes do not come back here; no hold ever reaches it.
  const organizationId = readOrganizationId(image.organization_id);
  const entered = await deps.organizationIndex.enter({ taskId: image.id, organizationId, since });
  if (!entered || organizationId === undefined) return entered ? { kind: "indexed", taskId: image.id } : undefined;

  const holds = await deps.holds.holdsInForce(organizationId, formatTimestamp(now));
  const hold = holds.find((each) => inScope(each.scope, { agent_id: image.agent_id, status: image.status, since }));
  if (!hold) return { kind: "indexed", taskId: image.id };
  const outcome = await stopTask(
    {
      taskId: image.id,
      requester: { kind: "bulk", organizationId, stopId: hold.stopId },
      reason: HELD_STOP_REASON,
      ...(hold.reason === null ? {} : { note: hold.reason }),
    },
    deps.stop,
  );
  const stopped = outcome.kind === "stopped" || (outcome.kind === "unreadable" && outcome.transition === "stopped");
  if (stopped) await deps.holds.countHeld(hold.stopId);
  return { kind: "held", taskId: image.id, stopId: hold.stopId, outcome: outcome.kind };
}
