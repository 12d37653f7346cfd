import type { DynamoDBBatchResponse, DynamoDBRecord } from "aws-lambda";
import { type HoldDependencies, type HoldReport, keepOrganizationIndex } from "./bulk-stop/holds.js";
import {
  type CascadeDependencies,
  type CascadeReport,
  type CascadeSettings,
  planCascade,
  runCascade,
} from "./cascade.js";
import type { DeadlineWrites } from "./executions/deadlines.js";
import { type GuardDependencies, type GuardReport, keepDurationDeadline, runGuards } from "./guards.js";
import { type ExecutionChange, readExecutionChange } from "./stream/execution-change.js";
import { type TaskEvent, type TaskEventPublisher, taskEventsOf } from "./task-events.js";

/**
 * The executions table's stream processor: for each record, in order, the runaway guards (a
 * running task over its limits is stopped), the cascade's share of it, then the record's events. Events go last, so
 * that a record whose events were published is never
 * handled again because of something that failed after them.
 */

export interface ExecutionStreamDependencies {
  readonly cascade: CascadeDependencies;
  readonly publishEvents: TaskEventPublisher;
  readonly settings: CascadeSettings;
  /**
   * The runaway guards' reads (the stop itself goes through `cascade.stop`, the same core), and the
   * duration deadlines' writes (lib/executions/deadlines.ts).
   */
  readonly guards: Pick<GuardDependencies, "organizationLimits"> & { readonly deadlines: DeadlineWrites };
  /** The organization index's writes and the holds in force (the held stop goes through `cascade.stop`). */
  readonly holds: Omit<HoldDependencies, "stop">;
}

export interface ChangeResult {
  readonly change: ExecutionChange;
  readonly cascade?: CascadeReport;
  readonly guard?: GuardReport;
  readonly hold?: HoldReport;
  readonly events: readonly TaskEvent[];
}

export async function handleExecutionChange(
  change: ExecutionChange,
  deps: ExecutionStreamDependencies,
): Promise<ChangeResult> {
  // The guard's stop is itself a write to `stopped`, whose own record runs the cascade and the events.
  const guard = await runGuards(change, {
    stop: deps.cascade.stop,
    organizationLimits: deps.guards.organizationLimits,
  });
  // A task the guard did not stop enters its organization's index, where a hold in force may stop it at birth.
  const hold =
    guard?.outcome === "stopped"
      ? undefined
      : await keepOrganizationIndex(change, { ...deps.holds, stop: deps.cascade.stop });
  // A task still running keeps its duration deadline, which the cleanup's guard reads.
  if (change.newImage && guard?.outcome !== "stopped" && hold?.kind !== "held")
    await keepDurationDeadline(change.newImage, deps.guards);
  const cascade = await runCascade(planCascade(change, deps.settings), deps.cascade, deps.settings);
  const events = taskEventsOf(change);
  await deps.publishEvents(events);
  return { change, events, ...(cascade ? { cascade } : {}), ...(guard ? { guard } : {}), ...(hold ? { hold } : {}) };
}

export interface StreamBatchObserver {
  readonly onHandled?: (result: ChangeResult) => void;
  readonly onSkipped?: (record: DynamoDBRecord) => void;
  /** A record whose images cannot be read at all: skipped, so it never holds up the records after it. */
  readonly onUnreadable?: (record: DynamoDBRecord, error: unknown) => void;
  readonly onFailed?: (record: DynamoDBRecord, error: unknown) => void;
}

/**
 * A batch, one record after the other, stopping at the first failure: that record is reported
 * (ReportBatchItemFailures), and Lambda resumes the shard from it. Records after it are not tried
 * now; had they been, a retry from the failed one would handle them (and publish their events)
 * twice. Records before it are done and are not seen again.
 */
export async function processExecutionStreamBatch(
  records: readonly DynamoDBRecord[],
  deps: ExecutionStreamDependencies,
  observer: StreamBatchObserver = {},
): Promise<DynamoDBBatchResponse> {
  for (const record of records) {
    let change: ExecutionChange | undefined;
    try {
      change = readExecutionChange(record);
    } catch (error) {
      // Reading is pure: a retry would fail the same way, for ever, and hold up the shard behind it.
      observer.onUnreadable?.(record, error);
      continue;
    }
    if (!change) {
      observer.onSkipped?.(record);
      continue;
    }
    let result: ChangeResult;
    try {
      result = await handleExecutionChange(change, deps);
    } catch (error) {
      observer.onFailed?.(record, error);
      return { batchItemFailures: [{ itemIdentifier: change.sequenceNumber }] };
    }
    observer.onHandled?.(result);
  }
  return { batchItemFailures: [] };
}
