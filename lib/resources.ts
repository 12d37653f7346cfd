/**
 * Tables, queues and routes: defined once, read by the CDK stack (infra/) and by the
 * embedded local stack (infra/local/), so the cloud and a laptop cannot drift apart.
 */

export type AttributeType = "S" | "N";

export interface KeyAttribute {
  readonly name: string;
  readonly type: AttributeType;
}

export interface GlobalIndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
}

export interface TableDefinition {
  /** Suffix of the physical name: `<prefix>-<logicalName>`. */
  readonly logicalName: string;
  readonly partitionKey: KeyAttribute;
  readonly globalSecondaryIndexes: readonly GlobalIndexDefinition[];
}

export interface QueueDefinition {
  readonly logicalName: string;
  readonly visibilityTimeoutSeconds: number;
  readonly retentionSeconds: number;
  readonly deadLetter: {
    readonly logicalName: string;
    /** Deliveries a worker may fail before the message is parked for an operator. */
    readonly maxReceiveCount: number;
    readonly retentionSeconds: number;
  };
}

const DAY_SECONDS = 24 * 60 * 60;

/**
 * Sparse indexes of the executions table: an item carries an index's key attributes only while
 * it needs the cleanup's attention, so the cleanup queries small indexes and never scans.
 * Partition keys are spread over a few shards so that no index partition runs hot.
 *
 * Every key attribute is this service's bookkeeping, named with the `idx_` prefix that no field
 * of the record has (docs/storage-contract.md): DynamoDB refuses any write that stores an index
 * key as null or as another type, so a key that doubled as a public field (as `started_at` once
 * did) would let the platform's writers fail their own writes by storing that field as null.
 */
export const executionIndexes = {
  /** Stopped executions whose worker has not acknowledged the stop yet, by when a (re)send is due. */
  signalRedrive: {
    indexName: "signal-redrive",
    partitionKey: { name: "idx_signal_shard", type: "S" },
    sortKey: { name: "idx_signal_due_at", type: "S" },
  },
  /** Running executions by their last heartbeat. */
  activeByHeartbeat: {
    indexName: "active-by-heartbeat",
    partitionKey: { name: "idx_active_shard", type: "S" },
    sortKey: { name: "idx_heartbeat_at", type: "S" },
  },
  /** Running executions by when this service first knew them running (their start, or their first heartbeat). */
  activeByStart: {
    indexName: "active-by-start",
    partitionKey: { name: "idx_active_shard", type: "S" },
    sortKey: { name: "idx_active_since", type: "S" },
  },
} as const satisfies Record<string, GlobalIndexDefinition>;

/** How many partitions each sparse index spreads over. */
export const INDEX_SHARDS = 4;

export const executionsTable = {
  logicalName: "executions",
  partitionKey: { name: "id", type: "S" },
  globalSecondaryIndexes: Object.values(executionIndexes),
} as const satisfies TableDefinition;

export const apiKeysTable = {
  logicalName: "api-keys",
  // Keys are looked up by the SHA-256 of the presented key; the key itself is never stored.
  partitionKey: { name: "key_hash", type: "S" },
  globalSecondaryIndexes: [{ indexName: "by-key-id", partitionKey: { name: "key_id", type: "S" } }],
} as const satisfies TableDefinition;

export const tables = { executions: executionsTable, apiKeys: apiKeysTable } as const;

// A stop is only useful while the task still runs: four days covers any outage a worker
// fleet could sit out, and the DLQ keeps undeliverable signals two weeks for an operator.
// Consumers release messages meant for another worker or environment (visibility 0), and each
// release counts as a receive: the redrive threshold leaves room for that. A stop that still
// ends in a DLQ is not lost: the cleanup re-sends unacknowledged stops, and heartbeats report it.
const RECEIVES_BEFORE_DEAD_LETTER = 20;
export const stopSignalsQueue = {
  logicalName: "stop-signals",
  visibilityTimeoutSeconds: 30,
  retentionSeconds: 4 * DAY_SECONDS,
  deadLetter: { logicalName: "stop-signals-dlq", maxReceiveCount: RECEIVES_BEFORE_DEAD_LETTER, retentionSeconds: 14 * DAY_SECONDS },
} as const satisfies QueueDefinition;

export const assetCommandsQueue = {
  logicalName: "asset-commands",
  visibilityTimeoutSeconds: 30,
  retentionSeconds: 4 * DAY_SECONDS,
  deadLetter: { logicalName: "asset-commands-dlq", maxReceiveCount: RECEIVES_BEFORE_DEAD_LETTER, retentionSeconds: 14 * DAY_SECONDS },
} as const satisfies QueueDefinition;

export const queues = { stopSignals: stopSignalsQueue, assetCommands: assetCommandsQueue } as const;

export function physicalName(prefix: string, logicalName: string): string {
  return `${prefix}-${logicalName}`;
}

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
/** Each Lambda's entry file (relative to the repository root) and exported handler. */
export const functionDefinitions = {
  "stop-task": { entry: "functions/stop-task/handler.ts", handlerExport: "handler" },
  "get-task": { entry: "functions/get-task/handler.ts", handlerExport: "handler" },
  cleanup: { entry: "functions/cleanup/handler.ts", handlerExport: "handler" },
} as const;

export type FunctionName = keyof typeof functionDefinitions;

export interface RouteDefinition {
  readonly method: HttpMethod;
  /** API Gateway resource path, with `{param}` placeholders. */
  readonly path: string;
  readonly functionName: FunctionName;
  /** The OpenAPI operationId; unique across routes. */
  readonly operationId: string;
  /** A route kept for the platform's own SDK: same handler and behaviour as a documented one. */
  readonly compatibility?: boolean;
}

/** Every HTTP route of the service; API Gateway (CDK), the local server and the OpenAPI document read it. */
export const routes = [
  { method: "POST", path: "/v1/tasks/{task_id}/stop", functionName: "stop-task", operationId: "stopTask" },
  { method: "GET", path: "/v1/tasks/{task_id}", functionName: "get-task", operationId: "getTask" },
  // The platform's Python SDK stops with DELETE and polls a /status path.
  {
    method: "DELETE",
    path: "/agent-execution/{task_id}",
    functionName: "stop-task",
    operationId: "stopAgentExecution",
    compatibility: true,
  },
  {
    method: "GET",
    path: "/agent-execution/{task_id}/status",
    functionName: "get-task",
    operationId: "getAgentExecutionStatus",
    compatibility: true,
  },
] as const satisfies readonly RouteDefinition[];

/** Functions that serve HTTP routes (the local server loads exactly these). */
export type RouteFunctionName = (typeof routes)[number]["functionName"];
export const routeFunctionNames: readonly RouteFunctionName[] = [...new Set(routes.map((route) => route.functionName))];
