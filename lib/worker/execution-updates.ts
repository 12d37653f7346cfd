import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { type ExecutionStatus, terminalStatusList } from "../execution.js";
import { inActiveState, isUnset } from "../executions/conditions.js";
import { indexAttributes, indexShard } from "../executions/indexes.js";
import { SIGNAL_PENDING_SINCE } from "../executions/repository.js";
import { formatTimestamp } from "../timestamp.js";

/**
 * The worker's side of an execution's record. Every write is conditional, so a worker and a
 * stop racing for the same execution cannot overwrite each other: whichever lands first decides
 * the terminal state, and the other learns it from the refused condition.
 */

export type AcknowledgeResult = "acknowledged" | "not_stopped" | "not_found";
export type HeartbeatResult = "alive" | "stop_requested" | "not_running";
export type FinishResult = { readonly kind: "finished" } | { readonly kind: "already_terminal"; readonly status: ExecutionStatus } | { readonly kind: "not_found" };

export interface WorkerExecutionUpdates {
  /** Records that the worker halted the task; the stop leaves the signal-redrive index. */
  acknowledgeStop(taskId: string, acknowledgedBy: string): Promise<AcknowledgeResult>;
  /** Proves the worker is alive; answers `stop_requested` once the task has been stopped, a channel no routing can lose. */
  heartbeat(taskId: string, workerId: string): Promise<HeartbeatResult>;
  complete(taskId: string, workerId: string, result: string): Promise<FinishResult>;
  fail(taskId: string, workerId: string, result: string): Promise<FinishResult>;
}

export function dynamoWorkerExecutionUpdates(client: DynamoDBClient, tableName: string, clock: () => Date = () => new Date()): WorkerExecutionUpdates {
  const now = () => formatTimestamp(clock());
  async function conditionalUpdate(input: {
    taskId: string;
    condition: string;
    update: string;
    names: Record<string, string>;
    values: Record<string, AttributeValue>;
  }): Promise<{ ok: true } | { ok: false; old: Record<string, AttributeValue> | undefined }> {
    try {
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: { id: { S: input.taskId } },
          ConditionExpression: input.condition,
          UpdateExpression: input.update,
          ExpressionAttributeNames: input.names,
          ...(Object.keys(input.values).length > 0 ? { ExpressionAttributeValues: input.values } : {}),
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return { ok: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return { ok: false, old: error.Item };
    }
  }

  async function finish(taskId: string, workerId: string, status: "completed" | "failed", result: string): Promise<FinishResult> {
    const at = now();
    const outcome = await conditionalUpdate({
      taskId,
      // Only the worker running it may finish it, and only while nothing else has.
      condition: `attribute_exists(#id) AND #worker_id = :worker_id AND ${inActiveState.expression}`,
      update:
        "SET #status = :status, finished_at = :now, updated_at = :now, #result = :result, version = if_not_exists(version, :zero) + :one REMOVE #active_shard",
      names: { "#id": "id", "#worker_id": "worker_id", "#result": "result", "#active_shard": indexAttributes.activeShard, ...inActiveState.names },
      values: {
        ...inActiveState.values,
        ":worker_id": { S: workerId },
        ":status": { S: status },
        ":now": { S: at },
        ":result": { S: result },
        ":zero": { N: "0" },
        ":one": { N: "1" },
      },
    });
    if (outcome.ok) return { kind: "finished" };
    const current = outcome.old?.status?.S as ExecutionStatus | undefined;
    if (!current) return { kind: "not_found" };
    if ((terminalStatusList as readonly string[]).includes(current)) return { kind: "already_terminal", status: current };
    throw new Error(`finish of ${taskId} refused: the execution runs on another worker`);
  }

  return {
    async acknowledgeStop(taskId, acknowledgedBy) {
      const at = now();
      // The first acknowledgement is the one kept; a writer's explicit null counts as none yet.
      const firstAcknowledgement = isUnset("stop_acknowledged_at");
      const outcome = await conditionalUpdate({
        taskId,
        condition: `#status = :stopped AND (${firstAcknowledgement.expression})`,
        update: "SET stop_acknowledged_at = :now, stop_acknowledged_by = :by REMOVE #signal_shard, #signal_due_at, #pending",
        names: {
          ...firstAcknowledgement.names,
          "#status": "status",
          "#signal_shard": indexAttributes.signalShard,
          "#signal_due_at": indexAttributes.signalDueAt,
          "#pending": SIGNAL_PENDING_SINCE,
        },
        values: { ...firstAcknowledgement.values, ":stopped": { S: "stopped" }, ":now": { S: at }, ":by": { S: acknowledgedBy } },
      });
      if (outcome.ok) return "acknowledged";
      if (!outcome.old) return "not_found";
      // Refused because an earlier acknowledgement is already recorded: this one agrees with it.
      return outcome.old.status?.S === "stopped" ? "acknowledged" : "not_stopped";
    },

    async heartbeat(taskId, workerId) {
      const at = now();
      const outcome = await conditionalUpdate({
        taskId,
        condition: `attribute_exists(#id) AND #worker_id = :worker_id AND ${inActiveState.expression}`,
        // The first heartbeat of a record the platform wrote brings it into the liveness indexes;
        // its start for the duration limit is then the first time this service saw it running.
        update: "SET #heartbeat_at = :now, #active_shard = :active_shard, #active_since = if_not_exists(#active_since, :now)",
        names: {
          "#id": "id",
          "#worker_id": "worker_id",
          "#heartbeat_at": indexAttributes.heartbeatAt,
          "#active_shard": indexAttributes.activeShard,
          "#active_since": indexAttributes.activeSince,
          ...inActiveState.names,
        },
        values: {
          ...inActiveState.values,
          ":worker_id": { S: workerId },
          ":now": { S: at },
          ":active_shard": { S: indexShard("active", taskId) },
        },
      });
      if (outcome.ok) return "alive";
      return outcome.old?.status?.S === "stopped" ? "stop_requested" : "not_running";
    },

    complete: (taskId, workerId, result) => finish(taskId, workerId, "completed", result),
    fail: (taskId, workerId, result) => finish(taskId, workerId, "failed", result),
  };
}
