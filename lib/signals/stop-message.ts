import * as z from "zod/mini";
import { limitCrossingSchema } from "../limits.js";

/**
 * The stop signal, as workers and self-hosted environments receive it. Workers import this
 * schema to parse what they receive, so producer and consumers cannot disagree on the shape.
 */
export const STOP_MESSAGE_TYPE = "task.stop";
export const STOP_MESSAGE_VERSION = 1;

export const stopMessageSchema = z.object({
  type: z.literal(STOP_MESSAGE_TYPE),
  version: z.literal(STOP_MESSAGE_VERSION),
  task_id: z.string(),
  organization_id: z.string(),
  agent_id: z.string(),
  worker_id: z.nullable(z.string()),
  environment_id: z.nullable(z.string()),
  is_manually_stopped: z.boolean(),
  requested_at: z.iso.datetime(),
  requested_by: z.string(),
  reason: z.string(),
  /**
   * The caller's own words (the record's `stop_note`), when it gave any; absent from messages sent before it existed.
   */
  note: z.optional(z.nullable(z.string())),
  /** A runaway guard's stop only: the limit crossed and the usage that crossed it (lib/limits.ts). */
  limit: z.optional(limitCrossingSchema),
});
export type StopMessage = z.infer<typeof stopMessageSchema>;

/** Message attributes, so a fleet or an environment can filter without parsing the body. */
export const stopMessageAttributeNames = {
  type: "type",
  taskId: "task_id",
  organizationId: "organization_id",
  workerId: "worker_id",
  environmentId: "environment_id",
} as const;
