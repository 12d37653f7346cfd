import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  allOf,
  type ConditionalUpdate,
  conditionalUpdate,
  executionExists,
  inActiveState,
  isStopped,
  isUnset,
  runsInEnvironment,
  runsOnWorker,
} from "../conditional-writes.js";
import { type ExecutionStatus, executionStatusSchema, isTerminal } from "../execution.js";
import { indexAttributes, indexShard } from "../executions/indexes.js";
import { SIGNAL_PENDING_SINCE } from "../executions/repository.js";
import { formatTimestamp } from "../timestamp.js";

/**
 * The worker's side of an execution's record. Every write is conditional, so a worker and a
 * stop racing for the same execution cannot overwrite each other: whichever lands first decides
 * the terminal state, and the other learns it from the refused condition.
 */

/** `not_owner`: the execution runs on another worker (or in another environment); nothing was written. */
export type AcknowledgeResult = "acknowledged" | "not_stopped" | "not_found" | "not_owner";

/**
 * Who acknowledges a stop: the worker the execution runs on, or, for a self-hosted environment's
 * consumer (which gets the stop on its environment's queue), the environment the execution names.
 */
export type StopOwner = { readonly workerId: string } | { readonly environmentId: string };

const ownerIdOf = (owner: StopOwner) => ("workerId" in owner ? owner.workerId : owner.environmentId);
export type HeartbeatResult = "alive" | "stop_requested" | "not_running";
export type FinishResult =
  | { readonly kind: "finished" }
  | { readonly kind: "already_terminal"; readonly status: ExecutionStatus }
  | { readonly kind: "not_found" };

export interface WorkerExecutionUpdates {
  /**
   * Records that its owner halted the task; the stop leaves the signal-redrive index. Only the
   * task's own worker (or environment) may: another's acknowledgement would take a stop its real
   * owner never heard of out of the re-drive.
   */
  acknowledgeStop(taskId: string, by: StopOwner): Promise<AcknowledgeResult>;
  /**
   * Proves the worker is alive; answers `stop_requested` once the task has been stopped, a channel no routing can lose.
   */
  heartbeat(taskId: string, workerId: string): Promise<HeartbeatResult>;
  complete(taskId: string, workerId: string, result: string): Promise<FinishResult>;
  fail(taskId: string, workerId: string, result: string): Promise<FinishResult>;
}

export function dynamoWorkerExecutionUpdates(
  client: DynamoDBClient,
  tableName: string,
  clock: () => Date = () => new Date(),
): WorkerExecutionUpdates {
  const now = () => formatTimestamp(clock());
  const update = (taskId: string, write: Omit<ConditionalUpdate, "tableName" | "key">) =>
    conditionalUpdate(client, { tableName, key: { id: { S: taskId } }, ...write });
  /** Only the worker running it may heartbeat or finish it, and only while nothing has finished it. */
  const runningOn = (workerId: string) => allOf(executionExists, runsOnWorker(workerId), inActiveState);

  async function finish(
    taskId: string,
    workerId: string,
    status: "completed" | "failed",
    result: string,
  ): Promise<FinishResult> {
    const at = now();
    const outcome = await update(taskId, {
      condition: runningOn(workerId),
      update:
        "SET #status = :status, finished_at = :now, updated_at = :now, #result = " +
        ":result, version = if_not_exists(version, :zero) + :one REMOVE #active_shard",
      names: { "#status": "status", "#result": "result", "#active_shard": indexAttributes.activeShard },
      values: {
        ":status": { S: status },
        ":now": { S: at },
        ":result": { S: result },
        ":zero": { N: "0" },
        ":one": { N: "1" },
      },
    });
    if (outcome.applied) return { kind: "finished" };
    if (!outcome.old) return { kind: "not_found" };
    const current = executionStatusSchema.safeParse(outcome.old.status?.S);
    if (current.success && isTerminal(current.data)) return { kind: "already_terminal", status: current.data };
    throw new Error(
      `finish of ${taskId} refused: the execution runs on another worker, or its status is not one this service knows`,
    );
  }

  return {
    async acknowledgeStop(taskId, by) {
      const at = now();
      const acknowledgedBy = ownerIdOf(by);
      // An empty id names nobody, though it would equal the "" a writer may store for "unassigned".
      if (acknowledgedBy === "") return "not_owner";
      // Its owner only. IAM cannot say this (worker_id is no key attribute, and a worker's role may
      // update the table), so the condition is the guard.
      const owned = "workerId" in by ? runsOnWorker(by.workerId) : runsInEnvironment(by.environmentId);
      // The first acknowledgement is the one kept; a writer's explicit null counts as none yet.
      const outcome = await update(taskId, {
        condition: allOf(isStopped, owned, isUnset("stop_acknowledged_at")),
        update:
          "SET stop_acknowledged_at = :now, stop_acknowledged_by = :by REMOVE #signal_shard, #signal_due_at, #pending",
        names: {
          "#signal_shard": indexAttributes.signalShard,
          "#signal_due_at": indexAttributes.signalDueAt,
          "#pending": SIGNAL_PENDING_SINCE,
        },
        values: { ":now": { S: at }, ":by": { S: acknowledgedBy } },
      });
      if (outcome.applied) return "acknowledged";
      if (!outcome.old) return "not_found";
      const ownerAttribute = "workerId" in by ? "worker_id" : "environment_id";
      if (outcome.old[ownerAttribute]?.S !== acknowledgedBy) return "not_owner";
      // Refused because an earlier acknowledgement is already recorded: this one agrees with it.
      return outcome.old.status?.S === "stopped" ? "acknowledged" : "not_stopped";
    },

    async heartbeat(taskId, workerId) {
      const at = now();
      const outcome = await update(taskId, {
        condition: runningOn(workerId),
        // The first heartbeat of a record the platform wrote brings it into the liveness indexes;
        // its start for the duration limit is then the first time this service saw it running.
        update:
          "SET #heartbeat_at = :now, #active_shard = :active_shard, #active_since = if_not_exists(#active_since, :now)",
        names: {
          "#heartbeat_at": indexAttributes.heartbeatAt,
          "#active_shard": indexAttributes.activeShard,
          "#active_since": indexAttributes.activeSince,
        },
        values: { ":now": { S: at }, ":active_shard": { S: indexShard("active", taskId) } },
      });
      if (outcome.applied) return "alive";
      return outcome.old?.status?.S === "stopped" ? "stop_requested" : "not_running";
    },

    complete: (taskId, workerId, result) => finish(taskId, workerId, "completed", result),
    fail: (taskId, workerId, result) => finish(taskId, workerId, "failed", result),
  };
}
