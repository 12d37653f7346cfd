import * as z from "zod/mini";
import { limitCrossingSchema, readLimitCrossing } from "./limits.js";
import type { ExecutionChange, ExecutionImage } from "./stream/execution-change.js";

/**
 * The events this service emits on its EventBridge bus, one per transition of an execution's
 * record, whatever made it: a record that becomes `stopped` (the API, the direct invoke, the
 * cleanup, the cascade or any other writer), a stop its worker acknowledges, a stop the cleanup
 * gave up delivering. They are derived from the executions table's stream only (never sent from
 * the stop's hot path) and carry the fields below and nothing else of the record.
 */

/** The `source` of every event: this service. */
export const TASK_EVENT_SOURCE = "stop-task";

export const taskEventTypes = {
  stopped: "Task Stopped",
  stopAcknowledged: "Task Stop Acknowledged",
  stopDeliveryFailed: "Task Stop Delivery Failed",
} as const;
export type TaskEventType = (typeof taskEventTypes)[keyof typeof taskEventTypes];

export const taskEventDetailSchema = z.object({
  task_id: z.string(),
  organization_id: z.string(),
  agent_id: z.string(),
  parent_execution: z.nullable(z.string()),
  is_manually_stopped: z.boolean(),
  /** The machine-readable code: `user_requested`, `parent_stopped`, `stale_heartbeat`, ... */
  stop_reason: z.nullable(z.string()),
  stopped_by: z.nullable(z.string()),
  stopped_at: z.nullable(z.string()),
  /** The caller's own words, when it gave any. */
  stop_note: z.nullable(z.string()),
  /**
   * Unique per event, the same for every delivery of it: a consumer drops a repeat by it. For
   * Task Stopped it is the stop's request id (`stop_request_id`) when this service's stop wrote the
   * transition, else the stream record's own id (another writer stopped it: a request id left on the
   * item belongs to an earlier stop); the other two are keyed by the stream record that carried them.
   */
  idempotency_key: z.string(),
  /** A runaway guard's stop (`*_limit_exceeded`): the limit crossed and the usage that crossed it. */
  limit: z.optional(limitCrossingSchema),
  /** Task Stop Acknowledged only. */
  stop_acknowledged_at: z.optional(z.string()),
  /** Task Stop Delivery Failed only. */
  signal_delivery_failed_at: z.optional(z.string()),
});
export type TaskEventDetail = z.infer<typeof taskEventDetailSchema>;

export interface TaskEvent {
  readonly detailType: TaskEventType;
  /** When it happened (the record's own timestamp), as EventBridge's `time`. */
  readonly time: string | null;
  readonly detail: TaskEventDetail;
}

/** Delivers a record's events (at most three), all or none: a failure is thrown and the record retried. */
export type TaskEventPublisher = (events: readonly TaskEvent[]) => Promise<void>;

/** The envelope EventBridge delivers to a target (a queue, locally): what a rule's target receives. */
export const taskEventEnvelopeSchema = z.object({
  version: z.string(),
  id: z.string(),
  "detail-type": z.string(),
  source: z.string(),
  account: z.string(),
  time: z.string(),
  region: z.string(),
  resources: z.array(z.string()),
  detail: taskEventDetailSchema,
});
export type TaskEventEnvelope = z.infer<typeof taskEventEnvelopeSchema>;

const isStopped = (image: ExecutionImage | undefined) => image?.status === "stopped";

/** The events of one change, in the order they happened: stopped, then acknowledged, then delivery failed. */
export function taskEventsOf(change: ExecutionChange): TaskEvent[] {
  const { oldImage, newImage } = change;
  if (!newImage) return [];
  // The stop's request id only when this very write set it: a task stopped, run again and stopped by another writer
  // still carries the first stop's id. The stream record's id is as stable across deliveries, and never reused.
  const recordKey = `stream:${change.eventId}`;
  const requestId = newImage.stop_request_id;
  const stopKey = requestId !== null && requestId !== oldImage?.stop_request_id ? requestId : recordKey;
  const limit = readLimitCrossing(newImage.stop_limit);
  const detail = (idempotencyKey: string, extra: Partial<TaskEventDetail> = {}): TaskEventDetail => ({
    task_id: newImage.id,
    organization_id: newImage.organization_id,
    agent_id: newImage.agent_id,
    parent_execution: newImage.parent_execution,
    is_manually_stopped: newImage.is_manually_stopped,
    stop_reason: newImage.stop_reason,
    stopped_by: newImage.stopped_by,
    stopped_at: newImage.stopped_at,
    stop_note: newImage.stop_note,
    idempotency_key: idempotencyKey,
    ...(limit ? { limit } : {}),
    ...extra,
  });

  const events: TaskEvent[] = [];
  if (isStopped(newImage) && !isStopped(oldImage)) {
    events.push({ detailType: taskEventTypes.stopped, time: newImage.stopped_at, detail: detail(stopKey) });
  }
  const acknowledgedAt = newImage.stop_acknowledged_at;
  if (acknowledgedAt !== null && oldImage?.stop_acknowledged_at == null) {
    events.push({
      detailType: taskEventTypes.stopAcknowledged,
      time: acknowledgedAt,
      detail: detail(`${recordKey}:acknowledged`, { stop_acknowledged_at: acknowledgedAt }),
    });
  }
  const deliveryFailedAt = newImage.signal_delivery_failed_at;
  if (deliveryFailedAt !== null && oldImage?.signal_delivery_failed_at == null) {
    events.push({
      detailType: taskEventTypes.stopDeliveryFailed,
      time: deliveryFailedAt,
      detail: detail(`${recordKey}:delivery_failed`, { signal_delivery_failed_at: deliveryFailedAt }),
    });
  }
  return events;
}
