import { en } from "zod/locales";
import * as z from "zod/mini";

// zod/mini ships without messages; a bad variable should fail the cold start in words.
z.config(en());

/**
 * Each function's environment, read and validated once per container. A missing or bad
 * variable fails the cold start with the variable's name, not a request later with a vaguer error.
 */
/*
 * Each schema is built by a function, when a function's config is read: a cold start constructs
 * its own function's schema and no other's, and esbuild leaves the others out of its bundle
 * (docs/performance.md, "What each cut bought").
 */
const awsClientSettings = () => ({
  // Per-attempt budget for one AWS call, so that a hung dependency cannot eat the Lambda timeout:
  // the two calls that can hold up a 503 (key GetItem, UpdateItem), each 3 x (0.3 s + 0.7 s) plus
  // backoff, stay inside the API functions' timeout (lib/resources.ts). DynamoDB and SQS answer in milliseconds when
  // healthy.
  AWS_REQUEST_TIMEOUT_MS: z._default(z.coerce.number().check(z.int(), z.positive()), 700),
  AWS_CONNECTION_TIMEOUT_MS: z._default(z.coerce.number().check(z.int(), z.positive()), 300),
  AWS_MAX_ATTEMPTS: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(10)), 3),
  /** Only set off AWS: the embedded local stack's emulators. */
  DYNAMODB_ENDPOINT: z.optional(z.url()),
  SQS_ENDPOINT: z.optional(z.url()),
});

const getTaskConfigSchema = () =>
  z.object({
    ...awsClientSettings(),
    EXECUTIONS_TABLE_NAME: z.string().check(z.minLength(1)),
    API_KEYS_TABLE_NAME: z.string().check(z.minLength(1)),
    API_KEY_CACHE_TTL_SECONDS: z._default(z.coerce.number().check(z.nonnegative()), 60),
  });

const signalQueues = () => ({
  /**
   * A worker's queue URL is this plus its worker_id (lib/signals/queue-names.ts):
   * `https://sqs.<region>.<suffix>/<account>/<prefix>-worker-`.
   */
  WORKER_QUEUE_URL_PREFIX: z.url(),
  /** A self-hosted environment's asset-command queue URL is this plus its environment_id. */
  ENVIRONMENT_QUEUE_URL_PREFIX: z.url(),
  /** A stop not acknowledged by its worker within this time gets its signal re-sent by the cleanup. */
  SIGNAL_ACK_TIMEOUT_SECONDS: z._default(z.coerce.number().check(z.nonnegative()), 60),
});

const stopTaskConfigSchema = () => z.extend(getTaskConfigSchema(), signalQueues());

const cleanupConfigSchema = () =>
  z.object({
    ...awsClientSettings(),
    ...signalQueues(),
    EXECUTIONS_TABLE_NAME: z.string().check(z.minLength(1)),
    /** The stop function, invoked directly so that system stops take the users' path. */
    STOP_FUNCTION_NAME: z.string().check(z.minLength(1)),
    /** Organizations' default limits, read whole once a run by the duration guard. */
    LIMITS_TABLE_NAME: z.string().check(z.minLength(1)),
    SIGNAL_MAX_ATTEMPTS: z._default(z.coerce.number().check(z.int(), z.minimum(1)), 5),
    STALE_HEARTBEAT_SECONDS: z._default(z.coerce.number().check(z.positive()), 300),
    MAX_EXECUTION_SECONDS: z._default(z.coerce.number().check(z.positive()), 6 * 60 * 60),
    /** Upper bound of executions one run handles, so a backlog is worked off over several runs. */
    CLEANUP_MAX_ITEMS_PER_RUN: z._default(z.coerce.number().check(z.int(), z.positive()), 200),
    /** The hourly sweep deletes a worker's or environment's queue its owner has not refreshed for this long. */
    SIGNAL_QUEUE_IDLE_SECONDS: z.optional(z.coerce.number().check(z.positive())),
    /** Where the sweep resumes in each channel (lib/signals/sweep-positions.ts). */
    SWEEP_POSITIONS_TABLE_NAME: z.string().check(z.minLength(1)),
  });

/** Events go to the bus in AWS, or onto a queue in EventBridge's envelope on the local stack: exactly one. */
const eventsTarget = () => ({
  /** In AWS: the EventBridge bus the events go to. */
  EVENT_BUS_NAME: z.optional(z.string().check(z.minLength(1))),
  /** On the local stack instead: the queue that receives them in EventBridge's envelope, as a rule's queue target would. */
  EVENTS_QUEUE_URL: z.optional(z.url()),
});
const oneEventsTarget = () =>
  z.refine<{ EVENT_BUS_NAME?: string | undefined; EVENTS_QUEUE_URL?: string | undefined }>(
    (config) => (config.EVENT_BUS_NAME === undefined) !== (config.EVENTS_QUEUE_URL === undefined),
    {
      message: "exactly one of EVENT_BUS_NAME (AWS) and EVENTS_QUEUE_URL (local stack) must be set",
      path: ["EVENT_BUS_NAME"],
    },
  );

const executionStreamConfigSchema = () =>
  z
    .object({
      ...awsClientSettings(),
      ...signalQueues(),
      ...eventsTarget(),
      EXECUTIONS_TABLE_NAME: z.string().check(z.minLength(1)),
      /** Organizations' default limits, read by the runaway guards. */
      LIMITS_TABLE_NAME: z.string().check(z.minLength(1)),
      /** The bulk stops, whose holds in force stop a task at birth (lib/bulk-stop/holds.ts). */
      BULK_STOPS_TABLE_NAME: z.string().check(z.minLength(1)),
      /** Sub-executions one stream record stops at most; the rest continue through the parent's next record. */
      CASCADE_CHILDREN_PER_RECORD: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(100)), 25),
    })
    .check(oneEventsTarget());

const bulkStopConfigSchema = () =>
  z
    .object({
      ...awsClientSettings(),
      ...signalQueues(),
      ...eventsTarget(),
      EXECUTIONS_TABLE_NAME: z.string().check(z.minLength(1)),
      API_KEYS_TABLE_NAME: z.string().check(z.minLength(1)),
      API_KEY_CACHE_TTL_SECONDS: z._default(z.coerce.number().check(z.nonnegative()), 60),
      BULK_STOPS_TABLE_NAME: z.string().check(z.minLength(1)),
      /** Where a bulk stop's run (and its continuation) is queued; this function consumes it. */
      BULK_STOP_JOBS_QUEUE_URL: z.url(),
    })
    .check(oneEventsTarget());

export type GetTaskConfig = z.infer<ReturnType<typeof getTaskConfigSchema>>;
export type ExecutionStreamConfig = z.infer<ReturnType<typeof executionStreamConfigSchema>>;
export type BulkStopConfig = z.infer<ReturnType<typeof bulkStopConfigSchema>>;
export type StopTaskConfig = z.infer<ReturnType<typeof stopTaskConfigSchema>>;
export type CleanupConfig = z.infer<ReturnType<typeof cleanupConfigSchema>>;

function readConfig<T extends z.ZodMiniType>(
  name: string,
  schema: T,
  env: Record<string, string | undefined>,
): z.infer<T> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    throw new Error(`invalid ${name} configuration: ${problems}`);
  }
  return parsed.data;
}

export function readStopTaskConfig(env: Record<string, string | undefined> = process.env): StopTaskConfig {
  return readConfig("stop-task", stopTaskConfigSchema(), env);
}

export function readGetTaskConfig(env: Record<string, string | undefined> = process.env): GetTaskConfig {
  return readConfig("get-task", getTaskConfigSchema(), env);
}

export function readCleanupConfig(env: Record<string, string | undefined> = process.env): CleanupConfig {
  return readConfig("cleanup", cleanupConfigSchema(), env);
}

export function readBulkStopConfig(env: Record<string, string | undefined> = process.env): BulkStopConfig {
  return readConfig("bulk-stop", bulkStopConfigSchema(), env);
}

export function readExecutionStreamConfig(
  env: Record<string, string | undefined> = process.env,
): ExecutionStreamConfig {
  return readConfig("execution-stream", executionStreamConfigSchema(), env);
}

/** The SDK client settings every function's config carries, in the shape lib/aws/clients.ts takes. */
export function awsClientOptions(config: {
  AWS_REQUEST_TIMEOUT_MS: number;
  AWS_CONNECTION_TIMEOUT_MS: number;
  AWS_MAX_ATTEMPTS: number;
}) {
  return {
    requestTimeoutMs: config.AWS_REQUEST_TIMEOUT_MS,
    connectionTimeoutMs: config.AWS_CONNECTION_TIMEOUT_MS,
    maxAttempts: config.AWS_MAX_ATTEMPTS,
  };
}
