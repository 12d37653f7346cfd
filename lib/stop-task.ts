import { randomUUID } from "node:crypto";
import type { AgentExecution } from "./execution.js";
import type { ExecutionRepository } from "./executions/repository.js";
import type { StopSignalPublisher } from "./signals/publisher.js";

/** Who asks for the stop: a caller holding an organization's API key, or a trusted internal system. */
export type StopRequester =
  | { readonly kind: "api_key"; readonly organizationId: string; readonly keyId: string }
  | { readonly kind: "system"; readonly requestedBy: string };

export interface StopTaskCommand {
  readonly taskId: string;
  readonly requester: StopRequester;
  readonly reason: string;
}

/**
 * What happened to the stop signal: `sent` with the transition; `resent` for a stop whose
 * earlier send had failed; `pending` when the send failed now and the marker records it;
 * `unrecorded` when the send and the marker both failed (the cleanup still re-sends it once the
 * acknowledgement time has run out, since the stop itself entered the signal-redrive index).
 */
export type SignalDelivery = "sent" | "resent" | "pending" | "unrecorded" | "none";

export type StopTaskOutcome =
  | { readonly kind: "stopped"; readonly execution: AgentExecution; readonly signal: SignalDelivery; readonly signalError?: unknown }
  | { readonly kind: "unchanged"; readonly execution: AgentExecution; readonly signal: SignalDelivery; readonly signalError?: unknown }
  | { readonly kind: "not_found" }
  | { readonly kind: "forbidden" };

export interface StopTaskDependencies {
  readonly executions: ExecutionRepository;
  readonly publishStopSignal: StopSignalPublisher;
  readonly now: () => Date;
  /** How long a worker has to acknowledge a stop before the cleanup re-sends its signal (default 60 s). */
  readonly signalAckTimeoutMs?: number;
}

export const DEFAULT_SIGNAL_ACK_TIMEOUT_MS = 60_000;

export const USER_STOP_REASON = "user_requested";

/**
 * Stop Task: one conditional write moves the execution to `stopped`, then one message tells
 * whoever runs it. The write is the commitment; a failed send never undoes it, it is recorded
 * so that a repeated stop (or the sweeper) can deliver the signal later.
 */
export async function stopTask(command: StopTaskCommand, deps: StopTaskDependencies): Promise<StopTaskOutcome> {
  const now = deps.now();
  const requestedAt = now.toISOString();
  const signalDueAt = new Date(now.getTime() + (deps.signalAckTimeoutMs ?? DEFAULT_SIGNAL_ACK_TIMEOUT_MS)).toISOString();
  const { requester } = command;
  const result = await deps.executions.stop({
    taskId: command.taskId,
    organizationId: requester.kind === "api_key" ? requester.organizationId : undefined,
    requestedBy: requester.kind === "api_key" ? requester.keyId : requester.requestedBy,
    reason: command.reason,
    isManuallyStopped: requester.kind === "api_key",
    requestedAt,
    signalDueAt,
    stopRequestId: randomUUID(),
  });

  switch (result.kind) {
    case "not_found":
    case "forbidden":
      return result;
    case "stopped": {
      const { execution } = result;
      const request = { requestedAt, requestedBy: execution.stopped_by ?? "", reason: command.reason };
      try {
        await deps.publishStopSignal(execution, request);
        return { kind: "stopped", execution, signal: "sent" };
      } catch (signalError) {
        const signal = await recordPendingSignal(deps, execution.id, requestedAt);
        return { kind: "stopped", execution, signal, signalError };
      }
    }
    case "unchanged": {
      const { execution, signalPendingSince } = result;
      if (!signalPendingSince || execution.status !== "stopped") {
        return { kind: "unchanged", execution, signal: "none" };
      }
      // The stop was recorded earlier but its signal never left: this repeat delivers it.
      const request = {
        requestedAt: execution.stopped_at ?? signalPendingSince,
        requestedBy: execution.stopped_by ?? "",
        reason: execution.stop_reason ?? command.reason,
      };
      try {
        await deps.publishStopSignal(execution, request);
      } catch (signalError) {
        return { kind: "unchanged", execution, signal: "pending", signalError };
      }
      try {
        await deps.executions.clearSignalPending(execution.id, signalPendingSince);
      } catch {
        // The signal is out; a marker left behind only means one more (harmless) duplicate later.
      }
      return { kind: "unchanged", execution, signal: "resent" };
    }
  }
}

async function recordPendingSignal(deps: StopTaskDependencies, taskId: string, since: string): Promise<SignalDelivery> {
  try {
    await deps.executions.markSignalPending(taskId, since);
    return "pending";
  } catch {
    return "unrecorded";
  }
}
