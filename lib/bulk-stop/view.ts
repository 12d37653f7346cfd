import * as z from "zod/mini";
import { runningStatuses } from "./scope.js";
import type { BulkStop } from "./store.js";

/** The scope as stored and answered: bounds canonical, statuses explicit. */
export const bulkStopScopeViewSchema = z.object({
  agent_id: z.optional(z.string()),
  started_after: z.optional(z.string()),
  started_before: z.optional(z.string()),
  statuses: z.array(z.enum(runningStatuses as [(typeof runningStatuses)[number], ...typeof runningStatuses])),
});

/** A bulk stop as the API answers it (`POST`, `GET /v1/stops/{stop_id}`, `DELETE .../hold`). */
export const bulkStopViewSchema = z.object({
  stop_id: z.string(),
  scope: bulkStopScopeViewSchema,
  reason: z.nullable(z.string()),
  /** `running` while tasks are still being stopped; `done` once every matched task was handled. */
  status: z.enum(["running", "done"]),
  /** Running tasks found in scope so far (at the request, the count it matched then). */
  matched: z.number(),
  stopped: z.number(),
  already_terminal: z.number(),
  failed: z.number(),
  /** Tasks the hold stopped at birth. */
  held: z.number(),
  hold_until: z.nullable(z.string()),
  hold_active: z.boolean(),
  created_at: z.string(),
  completed_at: z.nullable(z.string()),
  /** Up to 100 tasks whose stop failed. */
  failed_task_ids: z.array(z.string()),
});
export type BulkStopView = z.infer<typeof bulkStopViewSchema>;

/** The answer to a dry run: what the scope matches now; nothing was stopped or saved. */
export const bulkStopDryRunSchema = z.object({
  dry_run: z.literal(true),
  scope: bulkStopScopeViewSchema,
  matched: z.number(),
});

export function bulkStopView(bulkStop: BulkStop, now: string): BulkStopView {
  return {
    stop_id: bulkStop.stop_id,
    scope: { ...bulkStop.scope, statuses: [...bulkStop.scope.statuses] },
    reason: bulkStop.reason,
    status: bulkStop.status,
    matched: bulkStop.matched,
    stopped: bulkStop.stopped,
    already_terminal: bulkStop.already_terminal,
    failed: bulkStop.failed,
    held: bulkStop.held,
    hold_until: bulkStop.hold_until,
    hold_active: bulkStop.hold_until !== null && bulkStop.hold_until > now,
    created_at: bulkStop.created_at,
    completed_at: bulkStop.completed_at,
    failed_task_ids: [...bulkStop.failed_task_ids],
  };
}
