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
  organizationShard: executionIndexes.activeByOrganization.partitionKey.name,
  organizationSince: executionIndexes.activeByOrganization.sortKey.name,
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

/**
 * A task's partition of the `active-by-organization` index: its organization and its shard. The shard is the last
 * `#`-separated part and a single digit, so two organizations never share a partition, whatever their ids hold.
 */
export function organizationShardKey(organizationId: string, taskId: string): string {
  return `${organizationId}#${indexShard("active", taskId).split("#")[1]}`;
}

/** Every partition of one organization in the `active-by-organization` index. */
export function organizationShardKeys(organizationId: string): string[] {
  return Array.from({ length: INDEX_SHARDS }, (_, shard) => `${organizationId}#${shard}`);
}

/**
 * A task's start as a bulk stop's scope reads it (and the `active-by-organization` sort key): `started_at`, else (a
 * task no worker has started) `created_at`, each read as an instant in any form the storage contract allows;
 * undefined when neither is one.
 */
export function scopeStart(record: {
  readonly started_at?: unknown;
  readonly created_at?: unknown;
}): string | undefined {
  return canonicalTimestamp(record.started_at) ?? canonicalTimestamp(record.created_at);
}
