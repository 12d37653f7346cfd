import { isActive } from "../execution.js";
import { executionIndexes, INDEX_SHARDS } from "../resources.js";
import { canonicalTimestamp } from "../timestamp.js";

/** Attribute names of the sparse index keys, straight from the index definitions. */
export const indexAttributes = {
  signalShard: executionIndexes.signalRedrive.partitionKey.name,
  signalDueAt: executionIndexes.signalRedrive.sortKey.name,
  activeShard: executionIndexes.activeByHeartbeat.partitionKey.name,
  heartbeatAt: executionIndexes.activeByHeartbeat.sortKey.name,
  activeSince: executionIndexes.activeByStart.sortKey.name,
  deadlineAt: executionIndexes.activeByDeadline.sortKey.name,
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
 * The liveness index keys a running execution carries, for this service's own writers (the local
 * seed, the reference worker's start). A record the platform writes gets them at its worker's
 * first heartbeat instead. Values are canonical timestamps, so they sort in time order; a
 * finished or not-yet-started execution, or one whose start is not a timestamp, has none.
 */
export function livenessIndexKeys(record: {
  readonly id: string;
  readonly status: unknown;
  readonly started_at?: unknown;
  /** The last heartbeat, when one is known. */
  readonly heartbeat_at?: unknown;
}): Record<string, string> {
  const startedAt = canonicalTimestamp(record.started_at);
  if (!isActive(record.status) || !startedAt) return {};
  return {
    [indexAttributes.activeShard]: indexShard("active", record.id),
    [indexAttributes.heartbeatAt]: canonicalTimestamp(record.heartbeat_at) ?? startedAt,
    [indexAttributes.activeSince]: startedAt,
  };
}
