import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { DynamoDBRecord } from "aws-lambda";
import * as z from "zod/mini";
import { stopTargetSchema } from "../execution.js";
import { CASCADE_CURSOR } from "../executions/repository.js";
import { storedTimestampSchema } from "../timestamp.js";

/**
 * One record of the executions table's stream, read as the stream processor needs it: the few
 * fields of the old and new image that the cascade and the events use, read as leniently as the
 * stop reads a record (stopTargetSchema, lib/timestamp.ts). The platform's writers store nulls
 * anywhere, timestamps in many forms, integers as floats; a field that cannot be read is unset,
 * never a failure, so one odd record can never hold up the stream.
 */

const lenientString = z.catch(z.nullable(z.string()), null);
const lenientTimestamp = z.catch(z.nullable(storedTimestampSchema), null);

/** Only the string entries of a list: one bad entry does not hide the other sub-executions. */
const lenientIdList = z.pipe(
  z.transform((value: unknown) =>
    Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === "string" && entry !== "") : [],
  ),
  z.array(z.string()),
);

export const executionImageSchema = z.extend(stopTargetSchema, {
  status: lenientString,
  parent_execution: lenientString,
  sub_executions: lenientIdList,
  stop_request_id: lenientString,
  stop_acknowledged_at: lenientTimestamp,
  signal_delivery_failed_at: lenientTimestamp,
  [CASCADE_CURSOR]: z.catch(z.int().check(z.nonnegative()), 0),
  // The runaway guards' inputs (lib/guards.ts), kept raw: lib/limits.ts reads them leniently.
  tokens: z.optional(z.unknown()),
  used_tools: z.optional(z.unknown()),
  duration: z.optional(z.unknown()),
  limits: z.optional(z.unknown()),
  limits_set_at: lenientString,
  stop_limit: z.optional(z.unknown()),
  // The duration deadline's start and its stored value (lib/executions/deadlines.ts): bookkeeping.
  idx_active_since: lenientString,
  idx_deadline_at: lenientString,
  // The organization index (lib/bulk-stop/holds.ts): whether the task is in it, and its start as a scope reads it.
  idx_org_shard: lenientString,
  started_at: z.optional(z.unknown()),
  created_at: z.optional(z.unknown()),
});
export type ExecutionImage = z.output<typeof executionImageSchema>;

/** The attributes read from an image; nothing else of a record is ever looked at (or unmarshalled). */
export const executionImageAttributes: readonly string[] = Object.keys(executionImageSchema.shape);

export interface ExecutionChange {
  /** The stream record's own id: stable across retries of the same record. */
  readonly eventId: string;
  readonly sequenceNumber: string;
  readonly eventName: "INSERT" | "MODIFY" | "REMOVE";
  readonly taskId: string;
  readonly oldImage?: ExecutionImage;
  readonly newImage?: ExecutionImage;
}

type StreamImage = NonNullable<NonNullable<DynamoDBRecord["dynamodb"]>["NewImage"]>;

/** A stored item (a stream image, or a GetItem's `Item`) read through the image schema. */
export function readExecutionImage(
  taskId: string,
  image: StreamImage | Record<string, AttributeValue>,
): ExecutionImage {
  const picked = Object.fromEntries(
    executionImageAttributes.filter((name) => image[name] !== undefined).map((name) => [name, image[name]]),
  );
  // Numbers as plain numbers, never a throw: a float or an out-of-range integer is read, not refused.
  const native = unmarshall(picked as Record<string, AttributeValue>, { wrapNumbers: (text: string) => Number(text) });
  return executionImageSchema.parse({ ...native, id: taskId });
}

function readImage(taskId: string, image: StreamImage | undefined): ExecutionImage | undefined {
  return image ? readExecutionImage(taskId, image) : undefined;
}

/** A stream record as an execution change, or undefined for a record that is not one (no key, no sequence number). */
export function readExecutionChange(record: DynamoDBRecord): ExecutionChange | undefined {
  const stream = record.dynamodb;
  const taskId = stream?.Keys?.id?.S;
  if (!stream?.SequenceNumber || !taskId || !record.eventName) return undefined;
  const oldImage = readImage(taskId, stream.OldImage);
  const newImage = readImage(taskId, stream.NewImage);
  return {
    eventId: record.eventID ?? stream.SequenceNumber,
    sequenceNumber: stream.SequenceNumber,
    eventName: record.eventName,
    taskId,
    ...(oldImage ? { oldImage } : {}),
    ...(newImage ? { newImage } : {}),
  };
}
