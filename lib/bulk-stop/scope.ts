import * as z from "zod/mini";
import { activeStatusList, type ExecutionStatus, isActive } from "../execution.js";
import { canonicalTimestamp } from "../timestamp.js";

/**
 * What a bulk stop selects, in the caller's organization only: an agent, a window of start instants, and the running
 * statuses to stop (every running status by default). Bounds are read as instants in any ISO 8601 form the storage
 * contract reads (a naive time is UTC) and kept canonical, so that they compare as instants, never as strings.
 */

export type RunningStatus = Exclude<ExecutionStatus, "completed" | "failed" | "stopped">;
export const runningStatuses = activeStatusList as readonly RunningStatus[];

const boundSchema = z.pipe(
  z.string(),
  z.transform((value, context) => {
    const instant = canonicalTimestamp(value);
    if (instant === undefined) {
      context.issues.push({
        code: "custom",
        input: value,
        message: "Input should be a valid datetime, e.g. 2026-12-01T09:00:00Z",
        params: { type: "datetime_parsing" },
      });
      return z.NEVER;
    }
    return instant;
  }),
);

export const bulkStopScopeSchema = z
  .strictObject({
    agent_id: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
    started_after: z.optional(boundSchema),
    started_before: z.optional(boundSchema),
    statuses: z.optional(
      z.array(z.enum(runningStatuses as [RunningStatus, ...RunningStatus[]])).check(z.minLength(1), z.maxLength(4)),
    ),
  })
  .check(
    z.refine(
      (scope) =>
        scope.agent_id !== undefined || scope.started_after !== undefined || scope.started_before !== undefined,
      {
        message:
          "A scope needs agent_id or a time bound (started_after, started_before): without one it would stop the whole organization",
        params: { type: "value_error" },
      },
    ),
    z.refine(
      (scope) =>
        scope.started_after === undefined ||
        scope.started_before === undefined ||
        scope.started_after < scope.started_before,
      {
        message: "started_after must be before started_before",
        path: ["started_before"],
        params: { type: "value_error" },
      },
    ),
  );

/** The scope as stored and answered: bounds canonical, statuses explicit. */
export interface BulkStopScope {
  readonly agent_id?: string;
  readonly started_after?: string;
  readonly started_before?: string;
  readonly statuses: readonly RunningStatus[];
}

export function normalizeScope(scope: z.output<typeof bulkStopScopeSchema>): BulkStopScope {
  return {
    ...(scope.agent_id === undefined ? {} : { agent_id: scope.agent_id }),
    ...(scope.started_after === undefined ? {} : { started_after: scope.started_after }),
    ...(scope.started_before === undefined ? {} : { started_before: scope.started_before }),
    statuses: scope.statuses ? [...new Set(scope.statuses)] : [...runningStatuses],
  };
}

/** The longest hold: a week. A hold is an incident's tool, not a standing rule. */
export const MAX_HOLD_SECONDS = 7 * 24 * 60 * 60;
export const BULK_STOP_REASON_MAX_LENGTH = 500;

export const bulkStopRequestSchema = z.object({
  scope: bulkStopScopeSchema,
  reason: z.optional(z.nullable(z.string().check(z.minLength(1), z.maxLength(BULK_STOP_REASON_MAX_LENGTH)))),
  hold_seconds: z.optional(z.nullable(z.int().check(z.minimum(1), z.maximum(MAX_HOLD_SECONDS)))),
  dry_run: z.optional(z.boolean()),
});
export type BulkStopRequest = z.output<typeof bulkStopRequestSchema>;

/** A task as the scope reads it: from the organization index's projection, or from a stream image. */
export interface ScopedTask {
  readonly agent_id: unknown;
  readonly status: unknown;
  /** The task's start as an instant (lib/executions/indexes.ts `scopeStart`). */
  readonly since: string | undefined;
}

/** Whether a task of the caller's organization is in the scope. Both bounds are inclusive. */
export function inScope(scope: BulkStopScope, task: ScopedTask): boolean {
  if (!isActive(task.status) || !scope.statuses.includes(task.status as RunningStatus)) return false;
  if (scope.agent_id !== undefined && task.agent_id !== scope.agent_id) return false;
  if (scope.started_after !== undefined && (task.since === undefined || task.since < scope.started_after)) return false;
  if (scope.started_before !== undefined && (task.since === undefined || task.since > scope.started_before))
    return false;
  return true;
}
