import * as z from "zod/mini";
import type { BulkStop } from "./store.js";
import { bulkStopScopeViewSchema, bulkStopViewSchema } from "./view.js";

/** The event a bulk stop emits once, when it has gone through every task its scope selected. */
export const BULK_STOP_COMPLETED = "Bulk Stop Completed";

export const bulkStopCompletedDetailSchema = z.object({
  stop_id: z.string(),
  organization_id: z.string(),
  scope: bulkStopScopeViewSchema,
  reason: z.nullable(z.string()),
  ...z.pick(bulkStopViewSchema, {
    matched: true,
    stopped: true,
    already_terminal: true,
    failed: true,
    held: true,
    hold_until: true,
    created_at: true,
  }).shape,
  completed_at: z.string(),
  /** The bulk stop's id: the same for every delivery of this event, so a consumer drops a repeat by it. */
  idempotency_key: z.string(),
});
export type BulkStopCompletedDetail = z.infer<typeof bulkStopCompletedDetailSchema>;

export interface BulkStopCompletedEvent {
  readonly detailType: typeof BULK_STOP_COMPLETED;
  readonly time: string;
  readonly detail: BulkStopCompletedDetail;
}

export function bulkStopCompletedEvent(bulkStop: BulkStop & { readonly completed_at: string }): BulkStopCompletedEvent {
  return {
    detailType: BULK_STOP_COMPLETED,
    time: bulkStop.completed_at,
    detail: {
      stop_id: bulkStop.stop_id,
      organization_id: bulkStop.organization_id,
      scope: { ...bulkStop.scope, statuses: [...bulkStop.scope.statuses] },
      reason: bulkStop.reason,
      matched: bulkStop.matched,
      stopped: bulkStop.stopped,
      already_terminal: bulkStop.already_terminal,
      failed: bulkStop.failed,
      held: bulkStop.held,
      hold_until: bulkStop.hold_until,
      created_at: bulkStop.created_at,
      completed_at: bulkStop.completed_at,
      idempotency_key: `bulk-stop:${bulkStop.stop_id}`,
    },
  };
}
