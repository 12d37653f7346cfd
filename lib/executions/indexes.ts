import { isTerminal } from "../execution.js";
import { executionIndexes, INDEX_SHARDS } from "../resources.js";

/** Attribute names of the sparse index keys, straight from the index definitions. */
export const indexAttributes = {
  signalShard: executionIndexes.signalRedrive.partitionKey.name,
  signalDueAt: executionIndexes.signalRedrive.sortKey.name,
  activeShard: executionIndexes.activeByHeartbeat.partitionKey.name,
  heartbeatAt: executionIndexes.activeByHeartbeat.sortKey.name,
} as const;

export type IndexFamily = "signal" | "active";

/** The shard an execution's index entries go to: stable per task id, spread evenly by the UUID's hex. */
export function indexShard(family: IndexFamily, taskId: string): string {
  const bucket = Number.parseInt(taskId.slice(0, 8), 16);
  return `${family}#${(Number.isNaN(bucket) ? 0 : bucket) % INDEX_SHARDS}`;
}

export function allShards(family: IndexFamily): string[] {
  return Array.from({ length: INDEX_SHARDS }, (_, shard) => `${family}#${shard}`);
}

/**
 * The liveness index keys a running execution carries (whoever creates or starts an execution
 * writes them; a heartbeat refreshes them). A terminal or not-yet-started execution has none.
 */
export function livenessIndexKeys(record: {
  readonly id: string;
  readonly status: string;
  readonly started_at?: string | null;
  readonly heartbeat_at?: string | null;
}): Record<string, string> {
  if (isTerminal(record.status) || !record.started_at) return {};
  return {
    [indexAttributes.activeShard]: indexShard("active", record.id),
    [indexAttributes.heartbeatAt]: record.heartbeat_at ?? record.started_at,
  };
}
