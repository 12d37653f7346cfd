import { randomUUID } from "node:crypto";
import { type AgentExecution, readOrganizationId } from "./execution.js";
import type { ExecutionRead, ExecutionRepository, InvalidStoredExecutionError } from "./executions/repository.js";
import type { LimitCrossing } from "./limits.js";
import type { TaskRefusal } from "./outcomes.js";
import type { StopSignalPublisher } from "./signals/publisher.js";
import { formatTimestamp } from "./timestamp.js";

/**
 * Who asks for the stop: a caller holding an organization's API key, a trusted internal system,
 * or the cascade stopping a sub-execution because its parent stopped. The cascade carries the
 * parent's organization (a child of another organization is never touched: the write's tenancy
 * condition refuses it) and the parent's `is_manually_stopped`.
 */
export type StopRequester =
  | { readonly kind: "api_key"; readonly organizationId: string; readonly keyId: string }
  | { readonly kind: "system"; readonly requestedBy: string }
  | {
      readonly kind: "cascade";
      readonly organizationId: string;
      readonly parentTaskId: string;
      readonly isManuallyStopped: boolean;
    }
  /** A runaway guard (lib/guards.ts): the task's own organization, and the guard's name as `stopped_by`. */
  | { readonly kind: "guard"; readonly organizationId: string; readonly guard: string }
  /** A bulk stop (lib/bulk-stop/): its organization, and `bulk:<stop id>` as `stopped_by`; a manual stop. */
  | { readonly kind: "bulk"; readonly organizationId: string; readonly stopId: string };

export interface StopTaskCommand {
  readonly taskId: string;
  readonly requester: StopRequester;
  /** The machine-readable code stored as `stop_reason`. */
  readonly reason: string;
  /** The caller's own words, stored as `stop_note` and carried in the stop message. */
  readonly note?: string;
  /** A guard's stop: the limit crossed and the usage that crossed it, stored and carried in the message. */
  readonly limit?: LimitCrossing;
}

/**
 * What happened to the stop signal: `sent` with the transition; `resent` for a stop whose
 * earlier send had failed; `pending` when the send failed now and the marker records it (the
 * owner's queue may be gone: its worker vanished); `unrecorded` when the send and the marker both
 * failed (the cleanup still re-sends it once the acknowledgement time has run out, since the stop
 * itself entered the signal-redrive index); `unassigned` when no worker or environment runs the
 * task yet, so there is no one to tell (a worker that takes it later hears of the stop from its
 * first heartbeat).
 */
export type SignalDelivery = "sent" | "resent" | "pending" | "unrecorded" | "unassigned" | "none";

export type StopTaskOutcome =
  | {
      readonly kind: "stopped";
      readonly execution: AgentExecution;
      readonly signal: SignalDelivery;
      readonly signalError?: unknown;
    }
  | {
      readonly kind: "unchanged";
      readonly execution: AgentExecution;
      readonly signal: SignalDelivery;
      readonly signalError?: unknown;
    }
  /**
   * The record does not satisfy the public schema. The stop (`transition`) and its signal were
   * still carried out, since routing reads only a few fields; the caller answers 500 with `error`.
   */
  | {
      readonly kind: "unreadable";
      readonly transition: "stopped" | "unchanged";
      readonly error: InvalidStoredExecutionError;
      readonly signal: SignalDelivery;
      readonly signalError?: unknown;
    }
  | TaskRefusal;

export interface StopTaskDependencies {
  readonly executions: ExecutionRepository;
  readonly publishStopSignal: StopSignalPublisher;
  readonly now: () => Date;
  /** How long a worker has to acknowledge a stop before the cleanup re-sends its signal (default 60 s). */
  readonly signalAckTimeoutMs?: number;
}

export const DEFAULT_SIGNAL_ACK_TIMEOUT_MS = 60_000;

export const USER_STOP_REASON = "user_requested";
/** `stop_reason` of a sub-execution the cascade stopped. */
export const CASCADE_STOP_REASON = "parent_stopped";

/** `stop_reason` of a task a bulk stop stopped, and of one its hold stopped at birth. */
export const BULK_STOP_REASON = "bulk_stop";
export const HELD_STOP_REASON = "held";

/** `stopped_by` of a task a bulk stop (or its hold) stopped: it names the bulk stop. */
export function bulkStoppedBy(stopId: string): string {
  return `bulk:${stopId}`;
}

/** `stopped_by` of a sub-execution the cascade stopped: it names the parent. */
export function cascadeStoppedBy(parentTaskId: string): string {
  return `parent_execution:${parentTaskId}`;
}

/**
 * The organization a stop is confined to: every requester but a trusted system speaks for one, and its write carries
 * that organization's clause whatever the value. `invalid` is a requester naming no organization tenancy can rely on
 * (an empty id read from a broken record): such a stop is refused before anything is written.
 */
function tenancyOf(requester: StopRequester): { readonly organizationId?: string } | "invalid" {
  if (requester.kind === "system") return {};
  const organizationId = readOrganizationId(requester.organizationId);
  return organizationId === undefined ? "invalid" : { organizationId };
}

function requestedByOf(requester: StopRequester): string {
  switch (requester.kind) {
    case "api_key":
      return requester.keyId;
    case "system":
      return requester.requestedBy;
    case "cascade":
      return cascadeStoppedBy(requester.parentTaskId);
    case "guard":
      return requester.guard;
    case "bulk":
      return bulkStoppedBy(requester.stopId);
  }
}

function isManualStop(requester: StopRequester): boolean {
  switch (requester.kind) {
    case "api_key":
      return true;
    case "system":
      return false;
    case "cascade":
      return requester.isManuallyStopped;
    case "guard":
      return false;
    case "bulk":
      return true;
  }
}

/**
 * Stop Task: one conditional write moves the execution to `stopped`, then one message on its
 * worker's (or environment's) own queue tells whoever runs it. The write is the commitment; a failed send never undoes
 * it, it is recorded
 * so that a repeated stop (or the sweeper) can deliver the signal later.
 */
export async function stopTask(command: StopTaskCommand, deps: StopTaskDependencies): Promise<StopTaskOutcome> {
  const now = deps.now();
  const requestedAt = formatTimestamp(now);
  const signalDueAt = formatTimestamp(
    new Date(now.getTime() + (deps.signalAckTimeoutMs ?? DEFAULT_SIGNAL_ACK_TIMEOUT_MS)),
  );
  const { requester } = command;
  const tenancy = tenancyOf(requester);
  if (tenancy === "invalid") return { kind: "forbidden" };
  const result = await deps.executions.stop({
    taskId: command.taskId,
    ...tenancy,
    requestedBy: requestedByOf(requester),
    reason: command.reason,
    ...(command.note === undefined ? {} : { note: command.note }),
    ...(command.limit === undefined ? {} : { limit: command.limit }),
    isManuallyStopped: isManualStop(requester),
    requestedAt,
    signalDueAt,
    stopRequestId: randomUUID(),
  });

  switch (result.kind) {
    case "not_found":
    case "forbidden":
      return result;
    case "stopped": {
      const { target, record } = result;
      const request = {
        requestedAt,
        requestedBy: target.stopped_by ?? "",
        reason: command.reason,
        note: command.note ?? null,
        ...(command.limit === undefined ? {} : { limit: command.limit }),
      };
      try {
        const published = await deps.publishStopSignal(target, request);
        return outcome("stopped", record, { signal: published });
      } catch (signalError) {
        const signal = await recordPendingSignal(deps, target.id, requestedAt);
        return outcome("stopped", record, { signal, signalError });
      }
    }
    case "unchanged": {
      const { target, record, signalPendingSince } = result;
      if (!signalPendingSince || !result.stopped) return outcome("unchanged", record, { signal: "none" });
      // The stop was recorded earlier but its signal never left: this repeat delivers it.
      const request = {
        requestedAt: target.stopped_at ?? signalPendingSince,
        requestedBy: target.stopped_by ?? "",
        reason: target.stop_reason ?? command.reason,
        note: target.stop_note,
      };
      let published: "sent" | "unassigned";
      try {
        published = await deps.publishStopSignal(target, request);
      } catch (signalError) {
        return outcome("unchanged", record, { signal: "pending", signalError });
      }
      try {
        await deps.executions.clearSignalPending(target.id, signalPendingSince);
      } catch {
        // The signal is out; a marker left behind only means one more (harmless) duplicate later.
      }
      return outcome("unchanged", record, { signal: published === "sent" ? "resent" : "unassigned" });
    }
  }
}

function outcome(
  transition: "stopped" | "unchanged",
  record: ExecutionRead,
  delivery: { readonly signal: SignalDelivery; readonly signalError?: unknown },
): StopTaskOutcome {
  return record.readable
    ? { kind: transition, execution: record.execution, ...delivery }
    : { kind: "unreadable", transition, error: record.error, ...delivery };
}

async function recordPendingSignal(deps: StopTaskDependencies, taskId: string, since: string): Promise<SignalDelivery> {
  try {
    await deps.executions.markSignalPending(taskId, since);
    return "pending";
  } catch {
    return "unrecorded";
  }
}
