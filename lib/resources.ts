/**
 * Tables, queues, routes, API Gateway's own answers and how the executions table's stream is
 * processed: defined once, read by the CDK stack (infra/) and by the embedded local stack
 * (infra/local/), so the cloud and a laptop cannot drift apart.
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
  /**
   * The attributes the index carries besides the keys: these only (DynamoDB's INCLUDE projection),
   * or all of them when unset. A write that changes no projected attribute and no key writes
   * nothing to the index.
   */
  readonly projectedAttributes?: readonly string[];
}

export interface TableDefinition {
  /** Suffix of the physical name: `<prefix>-<logicalName>`. */
  readonly logicalName: string;
  readonly partitionKey: KeyAttribute;
  readonly globalSecondaryIndexes: readonly GlobalIndexDefinition[];
  /** The table's DynamoDB stream, when something reads its changes. */
  readonly stream?: "NEW_AND_OLD_IMAGES";
}

/** A queue of the stack's own, with its dead-letter queue. */
export interface QueueDefinition {
  readonly logicalName: string;
  readonly visibilityTimeoutSeconds: number;
  readonly retentionSeconds: number;
  readonly deadLetter: {
    readonly logicalName: string;
    /** Deliveries a consumer may fail before the message is parked for an operator. */
    readonly maxReceiveCount: number;
    readonly retentionSeconds: number;
  };
}

/**
 * A stop-signal channel: one queue per owner (a worker, or a self-hosted environment), named
 * `<prefix>-<ownerQueuePart>-<owner id>` by lib/signals/queue-names.ts, created by its owner at
 * start, and one dead-letter queue for all of them, created by the stack. Nothing but the owner
 * reads an owner's queue, so nothing is ever released for another consumer: a message comes back
 * only when its owner failed to finish with it.
 */
export interface SignalChannelDefinition extends Omit<QueueDefinition, "logicalName"> {
  /** The queue names' middle part; also the IAM pattern `<prefix>-<ownerQueuePart>-*`. The DLQ's
   *  name never starts with `<ownerQueuePart>-`: the owners' IAM pattern and the sweep must not reach it. */
  readonly ownerQueuePart: string;
  /** An owner's queue not refreshed by its owner for this long is deleted by the cleanup's sweep. */
  readonly idleBeforeDeleteSeconds: number;
  /**
   * The principal tag an owner's role (or session) carries: its id as its queue name holds it
   * (lib/signals/queue-names.ts `ownerQueueId`). The owner policy allows `<prefix>-<ownerQueuePart>-`
   * followed by this tag's value, and nothing else: an owner reaches its own queue only. No `:` in
   * the key, so that `${aws:PrincipalTag/<key>}` holds no character IAM could read as a separator.
   */
  readonly ownerPrincipalTag: string;
}

// Literal arithmetic only: esbuild drops an unused definition below from a bundle only when every
// value in it is side-effect free, and `4 * DAY_SECONDS` (an operator on a variable) is not, to it.
// The API functions need the index definitions alone (docs/performance.md).
const DAY_SECONDS = 24 * 60 * 60;
const FOUR_DAYS_SECONDS = 4 * 24 * 60 * 60;
const FOURTEEN_DAYS_SECONDS = 14 * 24 * 60 * 60;

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
  /**
   * Running executions by their duration deadline: the instant they will have run longer than the
   * `max_duration_seconds` in force (lib/executions/deadlines.ts). The cleanup's duration guard reads
   * only the tasks whose deadline has passed; a task leaves with its `idx_active_shard`, as from the others.
   */
  activeByDeadline: {
    indexName: "active-by-deadline",
    partitionKey: { name: "idx_active_shard", type: "S" },
    sortKey: { name: "idx_deadline_at", type: "S" },
    // What the duration guard reads (the stop reads the item itself): a heartbeat, which changes
    // none of these, costs this index no write.
    projectedAttributes: ["organization_id", "status", "limits", "idx_active_since"],
  },
  /**
   * Running executions of one organization by their start (lib/executions/organization-index.ts): what a bulk stop
   * reads, one organization's partitions only (`<organization_id>#<shard>`), never a Scan. Kept by the stream
   * processor, from a task's first write (a task no worker has heartbeated yet is in it); a stop leaves it, and a
   * finish another writer made is retired by the stream processor. The sort key is the task's start as an instant
   * (`started_at`, else `created_at`), canonical so that strings sort as instants do.
   */
  activeByOrganization: {
    indexName: "active-by-organization",
    partitionKey: { name: "idx_org_shard", type: "S" },
    sortKey: { name: "idx_org_since", type: "S" },
    // What the scope's filter reads; the stop reads the item itself.
    projectedAttributes: ["agent_id", "status"],
  },
} as const satisfies Record<string, GlobalIndexDefinition>;

/** How many partitions each sparse index spreads over. */
export const INDEX_SHARDS = 4;

export const executionsTable = {
  logicalName: "executions",
  partitionKey: { name: "id", type: "S" },
  // Pure: a bundle that does not use the table (the API functions read executionIndexes alone) drops it.
  globalSecondaryIndexes: /* @__PURE__ */ Object.values(executionIndexes),
  // Read by the execution-stream function: the cascade and the task events need both images.
  stream: "NEW_AND_OLD_IMAGES",
} as const satisfies TableDefinition;

export const apiKeysTable = {
  logicalName: "api-keys",
  // Keys are looked up by the SHA-256 of the presented key; the key itself is never stored.
  partitionKey: { name: "key_hash", type: "S" },
  globalSecondaryIndexes: [{ indexName: "by-key-id", partitionKey: { name: "key_id", type: "S" } }],
} as const satisfies TableDefinition;

/**
 * Organizations' default limits for the runaway guards (lib/limits.ts): one item per
 * organization, written by `npm run limits` only, read by the stream processor and the cleanup.
 */
export const limitsTable = {
  logicalName: "limits",
  partitionKey: { name: "organization_id", type: "S" },
  globalSecondaryIndexes: [],
} as const satisfies TableDefinition;

/**
 * Where the hourly sweep of idle signal queues resumes (lib/signals/sweep-positions.ts): one item per sweep, keyed by
 * the name prefixes of the channels it sweeps, read and written by the cleanup only.
 */
export const sweepPositionsTable = {
  logicalName: "sweep-positions",
  partitionKey: { name: "sweep", type: "S" },
  globalSecondaryIndexes: [],
} as const satisfies TableDefinition;

/**
 * Bulk stops (lib/bulk-stop/): one item per bulk stop, keyed by its id, with its scope, progress and hold; and one
 * item per Idempotency-Key an organization used (`idempotency:<organization>:<sha-256 of the key>`), naming the bulk
 * stop it made. A hold in force carries the sparse index keys the stream processor queries for a task just born.
 */
export const bulkStopsTable = {
  logicalName: "bulk-stops",
  partitionKey: { name: "id", type: "S" },
  globalSecondaryIndexes: [
    {
      indexName: "holds-by-organization",
      partitionKey: { name: "idx_hold_organization", type: "S" },
      sortKey: { name: "idx_hold_until", type: "S" },
    },
  ],
} as const satisfies TableDefinition;

export const tables = {
  executions: executionsTable,
  apiKeys: apiKeysTable,
  limits: limitsTable,
  sweepPositions: sweepPositionsTable,
  bulkStops: bulkStopsTable,
} as const;

// A stop is only useful while the task still runs: four days covers any outage a worker
// fleet could sit out, and the DLQ keeps undeliverable signals two weeks for an operator.
// Only the owner receives from its queue, so a receive that is not followed by a delete is a
// failure of that owner (it crashed, or could not acknowledge): five of those park the message.
// A stop that ends in a DLQ is not lost: the cleanup re-sends unacknowledged stops, and
// heartbeats report it. A queue its owner stopped refreshing a day ago belongs to a worker that
// is gone (a live one refreshes it every few minutes: lib/worker/signal-queue.ts).
const RECEIVES_BEFORE_DEAD_LETTER = 5;
const IDLE_QUEUE_SECONDS = DAY_SECONDS;

/** The fleet's workers: a queue per `worker_id`. */
export const workerSignalChannel = {
  ownerQueuePart: "worker",
  ownerPrincipalTag: "stop-task-worker-id",
  visibilityTimeoutSeconds: 30,
  retentionSeconds: FOUR_DAYS_SECONDS,
  deadLetter: {
    logicalName: "stop-signals-dlq",
    maxReceiveCount: RECEIVES_BEFORE_DEAD_LETTER,
    retentionSeconds: FOURTEEN_DAYS_SECONDS,
  },
  idleBeforeDeleteSeconds: IDLE_QUEUE_SECONDS,
} as const satisfies SignalChannelDefinition;

/** Self-hosted environments' asset-command channel: a queue per `environment_id`. */
export const environmentCommandChannel = {
  ownerQueuePart: "env",
  ownerPrincipalTag: "stop-task-environment-id",
  visibilityTimeoutSeconds: 30,
  retentionSeconds: FOUR_DAYS_SECONDS,
  deadLetter: {
    logicalName: "asset-commands-dlq",
    maxReceiveCount: RECEIVES_BEFORE_DEAD_LETTER,
    retentionSeconds: FOURTEEN_DAYS_SECONDS,
  },
  idleBeforeDeleteSeconds: IDLE_QUEUE_SECONDS,
} as const satisfies SignalChannelDefinition;

export const signalChannels = { workers: workerSignalChannel, environments: environmentCommandChannel } as const;
export type SignalChannelName = keyof typeof signalChannels;

/**
 * The task events (Task Stopped, ...) as a queue receives them from an EventBridge rule: the CDK
 * stack's example rule routes one organization's events here; the local stack delivers every
 * event here, in EventBridge's envelope (`queues.events` of .local/stack.json).
 */
export const taskEventsQueue = {
  logicalName: "task-events",
  visibilityTimeoutSeconds: 30,
  retentionSeconds: FOUR_DAYS_SECONDS,
  deadLetter: { logicalName: "task-events-dlq", maxReceiveCount: 5, retentionSeconds: FOURTEEN_DAYS_SECONDS },
} as const satisfies QueueDefinition;

/**
 * The bulk stops' work: one message per bulk stop to run (or to continue, when a run ran out of time), consumed by
 * the bulk-stop function. A message whose run keeps failing is retried, then parked for an operator (and alarmed);
 * the bulk stop keeps its progress, and `npm run stops -- --resume` finishes it. The visibility timeout exceeds the
 * function's timeout, as Lambda's SQS event source requires.
 */
export const bulkStopJobsQueue = {
  logicalName: "bulk-stop-jobs",
  visibilityTimeoutSeconds: 6 * 60,
  retentionSeconds: 4 * DAY_SECONDS,
  deadLetter: { logicalName: "bulk-stop-jobs-dlq", maxReceiveCount: 5, retentionSeconds: 14 * DAY_SECONDS },
} as const satisfies QueueDefinition;

/**
 * How the executions table's stream is read: by a Lambda event source mapping in AWS, and by the
 * local stack's poller (infra/local/stream-poller.ts) with the same settings and filters.
 */
export const executionStreamProcessing = {
  functionName: "execution-stream",
  /** Records per invocation; each record stops at most CASCADE_CHILDREN_PER_RECORD sub-executions. */
  batchSize: 10,
  /**
   * Batches of one shard handled at once, the records spread by item (Lambda's
   * ParallelizationFactor; each item's records stay in order). One shard takes every write of the
   * table; a fleet reporting usage twice a second (100 tasks, about 220 records a second) needs
   * more than one invocation at a time for a guard's stop to follow its crossing within 2 s
   * (docs/performance.md, "Runaway guards").
   */
  parallelizationFactor: 10,
  // A failing record is retried (the batch split at it, then from it) this many times before it
  // is skipped and described on the failure queue, which alarms: a poison record cannot hold the
  // shard, and is not lost silently. The stream keeps records 24 hours.
  maxRetryAttempts: 10,
  maxRecordAgeSeconds: 24 * 60 * 60,
  bisectBatchOnError: true,
  reportBatchItemFailures: true,
  /** From the oldest record the stream holds: a stop written before the mapping existed still cascades. */
  startingPosition: "TRIM_HORIZON",
  /**
   * Only records the processor acts on reach it (Lambda event filtering; the local poller applies
   * the same patterns): any change to a stopped record (the stop itself, its acknowledgement, a
   * failed delivery, the cascade's cursor, sub-executions appended after the stop), a new
   * record that names a parent, and a running record that reports usage or carries limits of its
   * own (the runaway guards, lib/guards.ts). The usage patterns match leaf attributes only (Lambda's
   * `exists` works on leaves): `tokens.prompt_tokens`, `tokens.completion_tokens`, `duration`, the
   * task's own `limits_set_at`, and an entry of `used_tools` (a list: Lambda's matcher flattens a list
   * of objects, so `used_tools.L.S` exists when any entry is a string; an empty list has none). A
   * writer that reports tools alone (tokens and duration null) is guarded too. A running task that
   * reports no usage (its heartbeats) invokes it once, for its duration deadline
   * (lib/executions/deadlines.ts), and never again.
   * A running record not yet in its organization's index (its insert, or the first write the stream shows of a record
   * written before the index, or rewritten whole by another writer) is indexed there, and checked against the holds
   * in force (lib/bulk-stop/holds.ts); a record another writer finished is taken out of that index.
   * Ten patterns: above Lambda's default quota of five filters per event source mapping, and at the
   * ten it is raised to on request (docs/cascade-and-events.md).
   */
  filterPatterns: [
    { dynamodb: { NewImage: { status: { S: ["stopped"] } } } },
    { eventName: ["INSERT"], dynamodb: { NewImage: { parent_execution: { S: [{ exists: true }] } } } },
    {
      dynamodb: {
        NewImage: {
          status: { S: ["pending", "executing", "paused", "error"] },
          tokens: { M: { prompt_tokens: { N: [{ exists: true }] } } },
        },
      },
    },
    {
      dynamodb: {
        NewImage: {
          status: { S: ["pending", "executing", "paused", "error"] },
          tokens: { M: { completion_tokens: { N: [{ exists: true }] } } },
        },
      },
    },
    {
      dynamodb: {
        NewImage: { status: { S: ["pending", "executing", "paused", "error"] }, duration: { N: [{ exists: true }] } },
      },
    },
    {
      dynamodb: {
        NewImage: {
          status: { S: ["pending", "executing", "paused", "error"] },
          used_tools: { L: { S: [{ exists: true }] } },
        },
      },
    },
    {
      dynamodb: {
        NewImage: {
          status: { S: ["pending", "executing", "paused", "error"] },
          limits_set_at: { S: [{ exists: true }] },
        },
      },
    },
    // A running record with a start and no duration deadline yet (its insert, or the first heartbeat
    // of a record the platform wrote): the processor writes the deadline, and the filter lets no
    // later heartbeat of it through.
    {
      dynamodb: {
        NewImage: {
          status: { S: ["pending", "executing", "paused", "error"] },
          idx_active_since: { S: [{ exists: true }] },
          idx_deadline_at: { S: [{ exists: false }] },
        },
      },
    },
    {
      dynamodb: {
        NewImage: {
          status: { S: ["pending", "executing", "paused", "error"] },
          idx_org_shard: { S: [{ exists: false }] },
        },
      },
    },
    {
      dynamodb: { NewImage: { status: { S: ["completed", "failed"] }, idx_org_shard: { S: [{ exists: true }] } } },
    },
  ],
  /**
   * Where a record that exhausted its retries is described (shard and sequence numbers): the on-failure destination.
   */
  failureQueue: { logicalName: "execution-stream-failures", retentionSeconds: FOURTEEN_DAYS_SECONDS },
} as const;

export function physicalName(prefix: string, logicalName: string): string {
  return `${prefix}-${logicalName}`;
}

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
/** Each Lambda's entry file (relative to the repository root) and exported handler. */
/**
 * Every Lambda function: its entry and its timeout (the deployed function's, and the remaining
 * time the local stack's in-process invocations report).
 * - The API functions' AWS clients (attempts, timeouts and backoff in lib/config.ts) fit well inside 10 s.
 * - The cleanup does one bounded run a minute, and stops taking work a margin before its timeout.
 * - The stream processor's batch (10 records, each stopping at most 25 sub-executions, 8 at a
 *   time, then publishing its events) takes seconds; the margin keeps a slow dependency's
 *   retries from timing the whole batch out.
 */
export const functionDefinitions = {
  "stop-task": { entry: "functions/stop-task/handler.ts", handlerExport: "handler", timeoutSeconds: 10 },
  "get-task": { entry: "functions/get-task/handler.ts", handlerExport: "handler", timeoutSeconds: 10 },
  cleanup: { entry: "functions/cleanup/handler.ts", handlerExport: "handler", timeoutSeconds: 60 },
  "execution-stream": { entry: "functions/execution-stream/handler.ts", handlerExport: "handler", timeoutSeconds: 60 },
  // Serves the bulk stop routes (seconds) and runs the bulk stops from their queue: a run stops taking tasks a margin
  // before this timeout and continues through a new message (lib/bulk-stop/processor.ts).
  "bulk-stop": { entry: "functions/bulk-stop/handler.ts", handlerExport: "handler", timeoutSeconds: 60 },
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
  // Served by the stop function: the same key check and tenancy, and its write grant on the executions table.
  { method: "PUT", path: "/v1/tasks/{task_id}/limits", functionName: "stop-task", operationId: "setTaskLimits" },
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
  { method: "POST", path: "/v1/stops", functionName: "bulk-stop", operationId: "createBulkStop" },
  { method: "GET", path: "/v1/stops/{stop_id}", functionName: "bulk-stop", operationId: "getBulkStop" },
  { method: "DELETE", path: "/v1/stops/{stop_id}/hold", functionName: "bulk-stop", operationId: "endBulkStopHold" },
] as const satisfies readonly RouteDefinition[];

/** Functions that serve HTTP routes (the local server loads exactly these). */
export type RouteFunctionName = (typeof routes)[number]["functionName"];
export const routeFunctionNames: readonly RouteFunctionName[] = /* @__PURE__ */ (() => [
  ...new Set(routes.map((route) => route.functionName)),
])();

// --- What API Gateway answers itself ------------------------------------------------------------

/** API Gateway's REST API payload limit; a larger request gets the REQUEST_TOO_LARGE answer. */
export const MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024;

/**
 * How long API Gateway waits for a route's function (the REST API's default and maximum without
 * a quota raise). The route functions' own, shorter timeout (`functionDefinitions`) comes first in AWS: a function that
 * runs out of
 * it fails, and that is an integration failure (502), not this timeout.
 */
export const INTEGRATION_TIMEOUT_SECONDS = 29;

/** The catch-alls' `detail`: API Gateway's own message for what they caught (e.g. "Forbidden"). */
export const GATEWAY_MESSAGE = { gatewayMessage: true } as const;

export interface GatewayAnswer {
  /** When API Gateway answers so; docs/api-gateway.md and the OpenAPI document say it in these words. */
  readonly when: string;
  /** The status; absent on the catch-alls, which keep the status of whatever they caught. */
  readonly status?: number;
  /** The body is `{"detail": ...}` (the service's own error shape), with this detail. */
  readonly detail: string | typeof GATEWAY_MESSAGE;
  /** A `retry-after` header, in seconds. Every answer also carries `x-request-id`. */
  readonly retryAfterSeconds?: number;
}

/**
 * The answers API Gateway gives before, or instead of, a route's function, by gateway response
 * type: CDK makes each a GatewayResponse (infra/constructs/http-api.ts) and the local server
 * answers each the same way (infra/local/server.ts); lib/http/gateway-answers.ts renders both.
 *
 * The other gateway response types cannot reach a caller of this API as it is built, so they
 * have no row of their own; were one to fire, a catch-all still answers it in this shape:
 * - ACCESS_DENIED, UNAUTHORIZED, AUTHORIZER_FAILURE, AUTHORIZER_CONFIGURATION_ERROR: no authorizer
 *   (the function checks the x-api-key itself);
 * - INVALID_API_KEY, QUOTA_EXCEEDED: no method requires an API Gateway key, and there is no usage plan;
 * - INVALID_SIGNATURE, EXPIRED_TOKEN, RESOURCE_NOT_FOUND: no method uses IAM authorization;
 * - WAF_FILTERED: no WAF web ACL (cdk-nag AwsSolutions-APIG3 is acknowledged for it);
 * - UNSUPPORTED_MEDIA_TYPE: only strict passthrough of a non-proxy integration refuses a media
 *   type; every route is a Lambda proxy integration, which passes any body;
 * - BAD_REQUEST_BODY: the request validator checks bodies against models, and no method has one;
 * - BAD_REQUEST_PARAMETERS: the only required parameter is the path's `{task_id}`, which a request
 *   that matched the resource always has;
 * - API_CONFIGURATION_ERROR: a broken deployment (API Gateway logs a function result that is not a
 *   proxy response as a configuration error); DEFAULT_5XX answers it.
 */
// A pure IIFE: the template literal below would otherwise keep the table in every bundle.
export const gatewayAnswers = /* @__PURE__ */ (() =>
  ({
    MISSING_AUTHENTICATION_TOKEN: {
      // A REST API gives an unknown path and a known path's other methods this same answer (403
      // "Missing Authentication Token" by default); 404 says what it is, as FastAPI would.
      when: "no route has this path, or the path's route takes another method",
      status: 404,
      detail: "Not Found",
    },
    THROTTLED: {
      when: "the stage's request rate or burst limit is exceeded",
      status: 429,
      detail: "Too many requests, please retry",
      retryAfterSeconds: 1,
    },
    REQUEST_TOO_LARGE: {
      when: "the request body is over API Gateway's 10 MB limit",
      status: 413,
      detail: "Request too large",
    },
    INTEGRATION_TIMEOUT: {
      when: `the function did not answer within API Gateway's ${INTEGRATION_TIMEOUT_SECONDS} s`,
      status: 504,
      detail: "Gateway timeout: the service did not answer in time",
    },
    INTEGRATION_FAILURE: {
      when: "the function failed: it threw, crashed or ran out of its own timeout",
      status: 502,
      detail: "Bad gateway: the service failed to answer",
    },
    DEFAULT_4XX: {
      when: "any other refusal by API Gateway, with its own 4XX status and message",
      detail: GATEWAY_MESSAGE,
    },
    DEFAULT_5XX: {
      when: "any other failure in API Gateway, with its own 5XX status and message",
      detail: GATEWAY_MESSAGE,
    },
  }) as const satisfies Record<string, GatewayAnswer>)();

/** A gateway response type this API defines an answer for. */
export type GatewayResponseType = keyof typeof gatewayAnswers;

/** Every row of `gatewayAnswers`, with its type. */
export function gatewayAnswerRows(): readonly (GatewayAnswer & { readonly type: GatewayResponseType })[] {
  return (Object.entries(gatewayAnswers) as [GatewayResponseType, GatewayAnswer][]).map(([type, answer]) => ({
    type,
    ...answer,
  }));
}
