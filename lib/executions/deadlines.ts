import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { allOf, conditionalUpdate, type ExpressionPart, inActiveState, itemExists } from "../conditional-writes.js";
import { readOrganizationId } from "../execution.js";
import { effectiveLimits, type Limits, readStoredLimits } from "../limits.js";
import { formatTimestamp, timestampMillis } from "../timestamp.js";
import { indexAttributes } from "./indexes.js";

/**
 * A running task's duration deadline: the first instant at which it has run more whole seconds
 * than the `max_duration_seconds` in force (its own, else its organization's default), counted
 * from its `idx_active_since` exactly as the duration guard counts (lib/guards.ts). Stored as
 * `idx_deadline_at`, the sort key of the `active-by-deadline` index, so that the cleanup reads the
 * tasks whose deadline has passed and no other (docs/storage-contract.md).
 *
 * Written by the stream processor when a task gets a start or its own limits, by the cleanup when
 * an organization's default changed, and by the cleanup again when a due task turns out not to be
 * over (its limit rose meanwhile).
 */

/** The deadline of a task with no duration limit: after every canonical timestamp, so never due. */
export const NO_DEADLINE = "9999-12-31T23:59:59.999999Z";
const NO_DEADLINE_MS = Date.parse("9999-12-31T23:59:59.999Z");

/** The deadline for a task active since `activeSince`, or undefined when that is not a timestamp. Never throws. */
export function durationDeadline(
  activeSince: unknown,
  ownLimits: unknown,
  organizationDefaults: Limits | undefined,
): string | undefined {
  const since = timestampMillis(activeSince);
  if (since === undefined) return undefined;
  const limit = effectiveLimits(readStoredLimits(ownLimits), organizationDefaults).max_duration_seconds;
  if (limit === undefined || limit === null) return NO_DEADLINE;
  // Limits are bounded (lib/limits.ts), so this is a date; one that would pass year 9999 is no deadline.
  const due = since + (limit + 1) * 1000;
  return due >= NO_DEADLINE_MS || due < -62_135_596_800_000 ? NO_DEADLINE : formatTimestamp(new Date(due));
}

/**
 * The deadline of a stored task as the duration guard will judge it: none for a task that names no organization
 * tenancy can rely on, since no guard stops it (lib/guards.ts), else from its start, its own limit and its
 * organization's default (`defaultsOf` is asked only when its own limit does not decide). Never throws.
 */
export async function taskDurationDeadline(
  task: { readonly organization_id: unknown; readonly limits: unknown; readonly activeSince: unknown },
  defaultsOf: (organizationId: string) => Limits | undefined | Promise<Limits | undefined>,
): Promise<string | undefined> {
  const organizationId = readOrganizationId(task.organization_id);
  if (organizationId === undefined) return timestampMillis(task.activeSince) === undefined ? undefined : NO_DEADLINE;
  const defaults = hasOwnDurationLimit(task.limits) ? undefined : await defaultsOf(organizationId);
  return durationDeadline(task.activeSince, task.limits, defaults);
}

/** Whether a task's own limits decide its duration limit, so that its organization's default does not matter. */
export function hasOwnDurationLimit(ownLimits: unknown): boolean {
  return typeof readStoredLimits(ownLimits).max_duration_seconds === "number";
}

export interface DeadlineWrites {
  /**
   * Sets a task's deadline, if it still is `seen` (undefined: it has none) and the task still runs
   * and is in the liveness indexes: false when either changed meanwhile (then whoever changed it
   * decides). A writer that lost the race never retries, so two writers can never loop.
   */
  setDeadline(taskId: string, seen: string | undefined, deadline: string): Promise<boolean>;
  /** Takes the deadline off a task that no longer runs but was left in the liveness indexes (by another writer). */
  retireDeadline(taskId: string, seen: string): Promise<boolean>;
}

const deadlineStillHolds = (seen: string | undefined): ExpressionPart => ({
  expression: seen === undefined ? "attribute_not_exists(#deadline)" : "#deadline = :seen_deadline",
  names: { "#deadline": indexAttributes.deadlineAt },
  values: seen === undefined ? {} : { ":seen_deadline": { S: seen } },
});

/** A status that is not a running one: a finished task that another writer left in the liveness indexes. */
const notInActiveState: ExpressionPart = { ...inActiveState, expression: `NOT (${inActiveState.expression})` };

export function dynamoDeadlineWrites(client: DynamoDBClient, tableName: string): DeadlineWrites {
  return {
    async setDeadline(taskId, seen, deadline) {
      const result = await conditionalUpdate(client, {
        tableName,
        key: { id: { S: taskId } },
        // Still running and still indexed: a stop or a finish removes `idx_active_shard`, and a
        // deadline written after it would be bookkeeping for nothing.
        condition: allOf(deadlineStillHolds(seen), itemExists(indexAttributes.activeShard), inActiveState),
        update: "SET #deadline = :deadline",
        values: { ":deadline": { S: deadline } },
      });
      return result.applied;
    },
    async retireDeadline(taskId, seen) {
      const result = await conditionalUpdate(client, {
        tableName,
        key: { id: { S: taskId } },
        condition: allOf(deadlineStillHolds(seen), notInActiveState),
        update: "REMOVE #deadline",
      });
      return result.applied;
    },
  };
}
