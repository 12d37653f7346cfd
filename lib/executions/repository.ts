import { type AttributeValue, type DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import {
  allOf,
  belongsToOrganization,
  conditionalUpdate,
  executionExists,
  inActiveState,
  isUnset,
  stillHolds,
} from "../conditional-writes.js";
import {
  type AgentExecution,
  agentExecutionSchema,
  isActive,
  isTerminal,
  type StopTarget,
  stopTargetSchema,
} from "../execution.js";
import type { LimitCrossing } from "../limits.js";
import type { TaskRefusal } from "../outcomes.js";
import { indexAttributes, indexShard } from "./indexes.js";

/** Internal attributes: stored on the item, never part of the public record. */
export const SIGNAL_PENDING_SINCE = "signal_pending_since";
/** How many entries of `sub_executions` the cascade has handled since the record was stopped (lib/cascade.ts). */
export const CASCADE_CURSOR = "cascade_cursor";

/** What one stop's delivery records on the item, to be cleared when a task that ran again is stopped anew. */
const PREVIOUS_STOP_BOOKKEEPING = [
  "stop_acknowledged_at",
  "stop_acknowledged_by",
  "signal_attempts",
  "signal_delivery_failed_at",
  "signal_unassigned_at",
  SIGNAL_PENDING_SINCE,
] as const;

export interface StopTransition {
  readonly taskId: string;
  /** The caller's organization; absent for trusted internal callers, whom IAM already vetted. */
  readonly organizationId?: string;
  readonly requestedBy: string;
  readonly reason: string;
  /**
   * The caller's own words, stored as `stop_note`; absent, any note a record carries is removed (it was not this
   * stop's).
   */
  readonly note?: string;
  readonly isManuallyStopped: boolean;
  /** A guard's stop: stored as `stop_limit` (bookkeeping), which the Task Stopped event carries. */
  readonly limit?: LimitCrossing;
  readonly requestedAt: string;
  /**
   * Unique per stop request and stored with the stop: when the SDK retries an UpdateItem whose
   * first attempt was applied but whose answer was lost, the refusal's old item carries this
   * request's own id, and the stop is recognised as ours (so its signal is still sent).
   */
  readonly stopRequestId: string;
  /** When the cleanup should re-send the signal if no worker has acknowledged the stop by then. */
  readonly signalDueAt: string;
}

/**
 * The stored record as the public schema reads it, or why it cannot be read. A stop carries
 * this beside its `target` instead of throwing, so that a record some other field of which is
 * malformed still gets its signal (and then answers 500).
 */
export type ExecutionRead =
  | { readonly readable: true; readonly execution: AgentExecution }
  | { readonly readable: false; readonly error: InvalidStoredExecutionError };

export type StopTransitionResult =
  | { readonly kind: "stopped"; readonly target: StopTarget; readonly record: ExecutionRead }
  | {
      readonly kind: "unchanged";
      readonly target: StopTarget;
      readonly record: ExecutionRead;
      /** Only a `stopped` record can owe a signal; a completed or failed one never does. */
      readonly stopped: boolean;
      readonly signalPendingSince?: string;
    }
  | TaskRefusal;

export interface ExecutionRepository {
  /** One conditional write; a refused condition is classified from the old item, never re-read. */
  stop(transition: StopTransition): Promise<StopTransitionResult>;
  /** Records that the stop is saved but its signal has not left yet, for a retry to find. */
  markSignalPending(taskId: string, since: string): Promise<void>;
  /** Clears the marker, only if it is still the one this caller saw (a concurrent re-send may own it). */
  clearSignalPending(taskId: string, since: string): Promise<void>;
}

export type FindExecutionResult = { readonly kind: "found"; readonly execution: AgentExecution } | TaskRefusal;

export interface ExecutionReader {
  /** One strongly consistent GetItem: a poll right after a stop must see the stop. */
  find(taskId: string, organizationId: string): Promise<FindExecutionResult>;
}

/**
 * Removes the pending-signal marker, only if it is still the one the caller saw: a refusal means
 * someone else cleared or replaced it first, and theirs is the newer truth.
 */
export async function clearSignalPendingMarker(
  client: DynamoDBClient,
  tableName: string,
  taskId: string,
  since: string,
): Promise<void> {
  await conditionalUpdate(client, {
    tableName,
    key: { id: { S: taskId } },
    condition: stillHolds(SIGNAL_PENDING_SINCE, since),
    update: "REMOVE #pending",
    names: { "#pending": SIGNAL_PENDING_SINCE },
  });
}

/** A stored item that the public schema rejects: a data problem to surface, never a malformed 200. */
export class InvalidStoredExecutionError extends Error {
  constructor(readonly taskId: string) {
    super(`stored execution ${taskId} does not satisfy the Agent Execution schema`);
    this.name = "InvalidStoredExecutionError";
  }
}

function readExecution(taskId: string, item: Record<string, unknown>): ExecutionRead {
  const parsed = agentExecutionSchema.safeParse(item);
  return parsed.success
    ? { readable: true, execution: parsed.data }
    : { readable: false, error: new InvalidStoredExecutionError(taskId) };
}

/** A stored item as the public record; throws InvalidStoredExecutionError when it breaks the schema. */
export function toExecution(taskId: string, item: Record<string, AttributeValue>): AgentExecution {
  const read = readExecution(taskId, unmarshall(item));
  if (!read.readable) throw read.error;
  return read.execution;
}

/**
 * The routing fields of a record the public schema read: the same values stopTargetSchema reads from
 * the item (both schemas read each of these fields alike, nulls and timestamps included), without
 * parsing the item a second time. Measured: the second parse was the largest zod cost of the stop's
 * hot path (docs/performance.md).
 */
export function stopTargetOf(taskId: string, execution: AgentExecution): StopTarget {
  return {
    id: taskId,
    organization_id: execution.organization_id,
    agent_id: execution.agent_id,
    worker_id: execution.worker_id,
    environment_id: execution.environment_id,
    is_manually_stopped: execution.is_manually_stopped,
    stopped_at: execution.stopped_at,
    stopped_by: execution.stopped_by,
    stop_reason: execution.stop_reason,
    stop_note: execution.stop_note,
  };
}

/**
 * The routing fields and the whole-record read of one stored item: from the one parse when the
 * record is readable, on their own (the lenient stopTargetSchema) when it is not, so that a record
 * with some other field malformed still gets its signal.
 */
function readStopped(
  taskId: string,
  item: Record<string, AttributeValue>,
): { target: StopTarget; record: ExecutionRead } {
  const native = unmarshall(item);
  const record = readExecution(taskId, native);
  return {
    target: record.readable
      ? stopTargetOf(taskId, record.execution)
      : stopTargetSchema.parse({ ...native, id: taskId }),
    record,
  };
}

export function dynamoExecutionRepository(
  client: DynamoDBClient,
  tableName: string,
): ExecutionRepository & ExecutionReader {
  return {
    async find(taskId, organizationId) {
      const { Item } = await client.send(
        new GetItemCommand({ TableName: tableName, Key: { id: { S: taskId } }, ConsistentRead: true }),
      );
      if (!Item) return { kind: "not_found" };
      // Tenancy is checked before the record is parsed: another organization's data is never looked at.
      if (Item.organization_id?.S !== organizationId) return { kind: "forbidden" };
      return { kind: "found", execution: toExecution(taskId, Item) };
    },

    async stop(transition) {
      // Present at all, the organization is a clause: never left out because of what its value is.
      const condition =
        transition.organizationId === undefined
          ? allOf(executionExists, inActiveState)
          : allOf(executionExists, belongsToOrganization(transition.organizationId), inActiveState);
      const result = await conditionalUpdate(client, {
        tableName,
        key: { id: { S: transition.taskId } },
        condition,
        // The same write enters the signal-redrive index (an unacknowledged stop is re-sent) and
        // leaves the liveness indexes (a stopped task is no longer a candidate for going stale) and its
        // organization's index (a bulk stop no longer finds it).
        update:
          "SET #status = :stopped, is_manually_stopped = :manual, finished_at = :now, stopped_at = :now, " +
          "stopped_by = :requested_by, stop_reason = :reason, updated_at = :now, " +
          "version = if_not_exists(version, :zero) + :one, #signal_shard = :signal_shard, #signal_due_at = :signal_due_at, " +
          `stop_request_id = :stop_request_id${transition.note === undefined ? "" : ", #stop_note = :stop_note"}` +
          `${transition.limit === undefined ? "" : ", stop_limit = :stop_limit"} ` +
          // A stop starts its own cascade from the first sub-execution (lib/cascade.ts), and its own delivery: what
          // an earlier stop of a task that ran again left behind (its acknowledgement, attempts, limit) is not this one's.
          `REMOVE #active_shard, #org_shard, #org_since, #cascade_cursor, ${PREVIOUS_STOP_BOOKKEEPING.join(", ")}` +
          `${transition.note === undefined ? ", #stop_note" : ""}${transition.limit === undefined ? ", stop_limit" : ""}`,
        names: {
          "#status": "status",
          "#signal_shard": indexAttributes.signalShard,
          "#signal_due_at": indexAttributes.signalDueAt,
          "#active_shard": indexAttributes.activeShard,
          "#org_shard": indexAttributes.organizationShard,
          "#org_since": indexAttributes.organizationSince,
          "#stop_note": "stop_note",
          "#cascade_cursor": CASCADE_CURSOR,
        },
        values: {
          ...(transition.note === undefined ? {} : { ":stop_note": { S: transition.note } }),
          ...(transition.limit === undefined
            ? {}
            : {
                ":stop_limit": {
                  M: {
                    limit_name: { S: transition.limit.limit_name },
                    limit: { N: String(transition.limit.limit) },
                    usage: { N: String(transition.limit.usage) },
                  },
                },
              }),
          ":signal_shard": { S: indexShard("signal", transition.taskId) },
          ":signal_due_at": { S: transition.signalDueAt },
          ":stop_request_id": { S: transition.stopRequestId },
          ":stopped": { S: "stopped" },
          ":manual": { BOOL: transition.isManuallyStopped },
          ":now": { S: transition.requestedAt },
          ":requested_by": { S: transition.requestedBy },
          ":reason": { S: transition.reason },
          ":zero": { N: "0" },
          ":one": { N: "1" },
        },
        returnNew: true,
      });
      return result.applied
        ? { kind: "stopped", ...readStopped(transition.taskId, result.item ?? {}) }
        : classifyRefusal(transition, result.old);
    },

    async markSignalPending(taskId, since) {
      // Refused when a worker already acknowledged (it learnt of the stop another way): then no signal is owed.
      await conditionalUpdate(client, {
        tableName,
        key: { id: { S: taskId } },
        condition: allOf(executionExists, isUnset("stop_acknowledged_at")),
        // Due at once: the cleanup's next run re-sends it, without waiting out the acknowledgement time.
        update:
          "SET #pending = if_not_exists(#pending, :since), #signal_shard = :signal_shard, #signal_due_at = :since",
        names: {
          "#pending": SIGNAL_PENDING_SINCE,
          "#signal_shard": indexAttributes.signalShard,
          "#signal_due_at": indexAttributes.signalDueAt,
        },
        values: { ":since": { S: since }, ":signal_shard": { S: indexShard("signal", taskId) } },
      });
    },

    clearSignalPending: (taskId, since) => clearSignalPendingMarker(client, tableName, taskId, since),
  };
}

function classifyRefusal(
  transition: StopTransition,
  oldItem: Record<string, AttributeValue> | undefined,
): StopTransitionResult {
  if (!oldItem) return { kind: "not_found" };
  const organizationId = oldItem.organization_id?.S;
  if (transition.organizationId !== undefined && organizationId !== transition.organizationId) {
    return { kind: "forbidden" };
  }
  const { target, record } = readStopped(transition.taskId, oldItem);
  // Our own write, applied on an attempt whose answer never arrived: this request made the stop.
  if (oldItem.stop_request_id?.S === transition.stopRequestId) return { kind: "stopped", target, record };
  const status = oldItem.status?.S;
  if (status === undefined || !isTerminal(status)) {
    // A status this service does not know is never transitioned: the record is the problem (500).
    if (!isActive(status)) throw new InvalidStoredExecutionError(transition.taskId);
    // The condition held on every clause we can see, yet DynamoDB refused it: not a state we know.
    throw new Error(`stop of ${transition.taskId} refused while status is ${status}`);
  }
  const signalPendingSince = oldItem[SIGNAL_PENDING_SINCE]?.S;
  return {
    kind: "unchanged",
    target,
    record,
    stopped: status === "stopped",
    ...(signalPendingSince ? { signalPendingSince } : {}),
  };
}
