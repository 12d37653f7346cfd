import { isActive, readOrganizationId, taskIdSchema } from "./execution.js";
import type { CascadeStore } from "./executions/cascade-store.js";
import { InvalidStoredExecutionError } from "./executions/repository.js";
import {
  CASCADE_STOP_REASON,
  type StopRequester,
  type StopTaskDependencies,
  type StopTaskOutcome,
  stopTask,
} from "./stop-task.js";
import type { ExecutionChange, ExecutionImage } from "./stream/execution-change.js";

/**
 * The cascade: when an execution becomes `stopped`, by any path, each of its sub-executions that
 * is still running is stopped too, through the same core and the same conditional write as any
 * stop (`parent_stopped`, stopped by the parent, in the parent's organization, with the parent's
 * `is_manually_stopped` and note). Each child's stop is itself a transition to `stopped`, whose
 * own stream record carries the cascade one level down, so the recursion needs no state of its own.
 *
 * Found through the parent's `sub_executions` (appended to by the orchestrator; the cascade reads it
 * in order), and through a child's `parent_execution` when the child is written after its parent
 * stopped (the orchestrator raced the stop). A sub-execution already terminal keeps its outcome,
 * and its branch ends there; one of another organization is never touched. A parent whose own
 * organization cannot be read (empty, null, missing) speaks for no organization: it cascades nowhere,
 * and a `parent_execution` that cannot be an id is never used as a key.
 *
 * Bounded: one stream record stops at most `childrenPerRecord` children. The parent's
 * `cascade_cursor` then records how far it got; that write is itself a stream record of the
 * parent, which continues from there. Nothing is held in memory between invocations, and a
 * retried record finds its children already stopped (the conditional write refuses, nothing is sent).
 */

export interface CascadeSettings {
  /** Sub-executions one stream record stops at most; the rest continue through the parent's next record. */
  readonly childrenPerRecord: number;
  /** Stops in flight at once within a record (default 8). */
  readonly concurrency?: number;
}

export type CascadePlan =
  | { readonly kind: "none" }
  /**
   * Stop `children`, entries `from` to `to` of the stopped parent's `sub_executions`, then move
   * its cursor from the value this record saw (`cursorSeen`) to `to`.
   */
  | {
      readonly kind: "children";
      readonly parent: ExecutionImage;
      readonly children: readonly string[];
      readonly from: number;
      readonly to: number;
      readonly total: number;
      readonly cursorSeen: number;
    }
  /** A running child was written naming a parent: stop it if that parent is stopped. */
  | { readonly kind: "late_child"; readonly childId: string; readonly parentId: string }
  /** Cascade work this record (`taskId`) would have started, refused: see CascadeRefusal. */
  | { readonly kind: "refused"; readonly taskId: string; readonly reason: CascadeRefusal };

/**
 * Why a cascade goes nowhere: the stopped parent names no organization tenancy can rely on (it would otherwise stop
 * children in any organization), or a child's `parent_execution` is no task id (it could not even be a key).
 */
export type CascadeRefusal = "parent_organization_unreadable" | "parent_id_invalid";

export interface CascadeDependencies {
  readonly stop: StopTaskDependencies;
  readonly store: CascadeStore;
}

/** What one record's cascade did, child by child, for the logs and metrics. */
export interface CascadeReport {
  readonly parentId: string;
  readonly stopped: string[];
  /** Already terminal: left as they were. */
  readonly unchanged: string[];
  /** Another organization's: never touched. */
  readonly foreign: string[];
  /** Listed but not in the table (or not an id at all). */
  readonly notFound: string[];
  /** Stopped (or left terminal) as they should be, but their record breaks the public schema. */
  readonly unreadable: string[];
  /** Stopped, but the signal did not leave (the stop core marked it pending for the re-drive). */
  readonly signalsNotDelivered: string[];
  /** More sub-executions remain: the parent's cursor moved, and its next record continues. */
  readonly continues: boolean;
  /** Set when the cascade was refused: nothing was stopped (`parentId` is then the record whose cascade it was). */
  readonly refused?: CascadeRefusal;
}

const sameList = (left: readonly string[], right: readonly string[]) =>
  left.length === right.length && left.every((id, index) => right[index] === id);

/** What the cascade has to do for one change of the executions table, decided from the record alone. */
export function planCascade(change: ExecutionChange, settings: CascadeSettings): CascadePlan {
  const { oldImage, newImage } = change;
  if (!newImage) return { kind: "none" };

  if (newImage.status === "stopped") {
    // Work for this record: the stop itself, a cursor moved by the previous slice, or sub-executions
    // appended after the stop. Any other write to a stopped record (an acknowledgement, a re-drive)
    // belongs to a record that already did, or will do, the work.
    const becameStopped = oldImage?.status !== "stopped";
    const cursorMoved = oldImage !== undefined && oldImage.cascade_cursor !== newImage.cascade_cursor;
    const grew = oldImage !== undefined && !sameList(oldImage.sub_executions, newImage.sub_executions);
    if (!becameStopped && !cursorMoved && !grew) return { kind: "none" };
    const total = newImage.sub_executions.length;
    const from = Math.min(becameStopped ? 0 : newImage.cascade_cursor, total);
    const children = newImage.sub_executions.slice(from, from + settings.childrenPerRecord);
    if (children.length === 0) return { kind: "none" };
    if (readOrganizationId(newImage.organization_id) === undefined) {
      return { kind: "refused", taskId: newImage.id, reason: "parent_organization_unreadable" };
    }
    return {
      kind: "children",
      parent: newImage,
      children,
      from,
      to: from + children.length,
      total,
      cursorSeen: newImage.cascade_cursor,
    };
  }

  const listedParent = newImage.parent_execution;
  if (change.eventName !== "INSERT" || !isActive(newImage.status) || listedParent === null || listedParent === "") {
    return { kind: "none" };
  }
  const parentId = taskIdSchema.safeParse(listedParent);
  if (!parentId.success) return { kind: "refused", taskId: newImage.id, reason: "parent_id_invalid" };
  if (parentId.data === newImage.id) return { kind: "none" };
  return { kind: "late_child", childId: newImage.id, parentId: parentId.data };
}

function cascadeRequester(parent: ExecutionImage, organizationId: string): StopRequester {
  return {
    kind: "cascade",
    organizationId,
    parentTaskId: parent.id,
    isManuallyStopped: parent.is_manually_stopped,
  };
}

/** Runs `work` over `items` with at most `limit` at once; every item is tried, then the first failure is thrown. */
async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const failures: unknown[] = [];
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
      try {
        await work(item);
      } catch (error) {
        failures.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failures.length > 0) throw failures[0];
}

function emptyReport(parentId: string, refused?: CascadeRefusal): CascadeReport {
  return {
    ...(refused ? { refused } : {}),
    parentId,
    stopped: [],
    unchanged: [],
    foreign: [],
    notFound: [],
    unreadable: [],
    signalsNotDelivered: [],
    continues: false,
  };
}

function tally(report: CascadeReport, childId: string, outcome: StopTaskOutcome): void {
  switch (outcome.kind) {
    case "not_found":
      report.notFound.push(childId);
      return;
    case "forbidden":
      report.foreign.push(childId);
      return;
    case "unreadable":
      report.unreadable.push(childId);
      if (outcome.transition === "stopped") report.stopped.push(childId);
      break;
    default:
      (outcome.kind === "stopped" ? report.stopped : report.unchanged).push(childId);
  }
  if (outcome.signal === "pending" || outcome.signal === "unrecorded") report.signalsNotDelivered.push(childId);
}

/**
 * Stops each child through the stop core, as the parent's cascade. A dependency failure is thrown once every child was
 * tried.
 */
async function stopChildren(
  parent: ExecutionImage,
  childIds: readonly string[],
  deps: CascadeDependencies,
  settings: CascadeSettings,
): Promise<CascadeReport> {
  const organizationId = readOrganizationId(parent.organization_id);
  if (organizationId === undefined) return emptyReport(parent.id, "parent_organization_unreadable");
  const report = emptyReport(parent.id);
  await forEachLimited(childIds, settings.concurrency ?? 8, async (listedId) => {
    const childId = taskIdSchema.safeParse(listedId);
    if (!childId.success) {
      report.notFound.push(listedId);
      return;
    }
    try {
      const outcome = await stopTask(
        {
          taskId: childId.data,
          requester: cascadeRequester(parent, organizationId),
          reason: CASCADE_STOP_REASON,
          ...(parent.stop_note === null ? {} : { note: parent.stop_note }),
        },
        deps.stop,
      );
      tally(report, childId.data, outcome);
    } catch (error) {
      // A child the stop refuses to read (a status this service does not know): set aside, its siblings go on.
      // Anything else (a dependency failing) fails the record, to be retried.
      if (!(error instanceof InvalidStoredExecutionError)) throw error;
      report.unreadable.push(childId.data);
    }
  });
  return report;
}

export async function runCascade(
  plan: CascadePlan,
  deps: CascadeDependencies,
  settings: CascadeSettings,
): Promise<CascadeReport | undefined> {
  switch (plan.kind) {
    case "none":
      return undefined;
    case "refused":
      return emptyReport(plan.taskId, plan.reason);
    case "children": {
      const report = await stopChildren(plan.parent, plan.children, deps, settings);
      // Written after the children, so a failure above retries this slice; a refusal means another
      // delivery of this record moved the cursor first, and its record continues instead.
      const moved = await deps.store.advanceCursor(plan.parent.id, plan.cursorSeen, plan.to);
      return { ...report, continues: moved && plan.to < plan.total };
    }
    case "late_child": {
      const parent = await deps.store.findParent(plan.parentId);
      if (parent?.status !== "stopped") return undefined;
      return stopChildren(parent, [plan.childId], deps, settings);
    }
  }
}
