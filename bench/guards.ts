/**
 * `npm run bench -- --only guards`: how fast the token guard stops a task that spends past its
 * limit, and how far past the limit it gets.
 *
 * On the local stack (`npm start` in a process of its own: DynamoDB Local, fauxqs, and the local
 * stream poller feeding the real execution-stream handler), N tasks of one organization whose
 * default `max_tokens` is `limit` run in reference workers in this process, `tasksPerWorker` each
 * (each with its own queue, long polls, heartbeats every 5 s, as in a fleet). Each task reports its cumulative tokens
 * every `intervalMs` as the
 * platform does (lib/worker/spend-tokens.ts), at a rate of its own, until its stop arrives.
 * Times, all on this machine's clock:
 * - crossing to stopped record: from the moment the UpdateItem that put usage over the limit
 *   returned, to the record's `stopped_at` (the stop core's clock, taken just before its write);
 * - crossing to abort: to the moment the worker received the stop message (or its heartbeat saw
 *   the stop, counted apart);
 * - overshoot: the last total the task reported, minus the limit.
 */
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { demoSeed } from "../infra/local/demo-data.js";
import { LOCAL_CREDENTIALS, LOCAL_REGION, localClientOptions } from "../infra/local/emulators.js";
import { ownerQueueSettings } from "../infra/local/provision.js";
import { createDynamoDbClient, createSqsClient } from "../lib/aws/clients.js";
import { livenessIndexKeys } from "../lib/executions/indexes.js";
import { putOrganizationLimits } from "../lib/executions/limits-store.js";
import { formatTimestamp, timestampMillis } from "../lib/timestamp.js";
import { dynamoWorkerExecutionUpdates } from "../lib/worker/execution-updates.js";
import { createReferenceWorker } from "../lib/worker/reference-worker.js";
import { dynamoTokenUsageReporter, spendTokensTask } from "../lib/worker/spend-tokens.js";
import { startLocalStack } from "../test/support/local-stack-process.js";
import { seededRandom } from "./seeded-random.js";
import { median, percentile, round } from "./stats.js";

export interface GuardsPlan {
  readonly tasks: number;
  readonly tasksPerWorker: number;
  readonly limit: number;
  readonly intervalMs: number;
  /** Each task spends a steady number of tokens per report, drawn from this range. */
  readonly tokensPerReport: readonly [number, number];
}

export interface GuardsResults extends GuardsPlan {
  readonly stopped: number;
  readonly notStopped: number;
  readonly abortedByMessage: number;
  readonly abortedByHeartbeat: number;
  readonly crossingToStoppedP50Ms: number;
  readonly crossingToStoppedP99Ms: number;
  readonly crossingToStoppedMaxMs: number;
  readonly crossingToAbortP50Ms: number;
  readonly crossingToAbortP99Ms: number;
  readonly crossingToAbortMaxMs: number;
  readonly overshootP50Tokens: number;
  readonly overshootMaxTokens: number;
  /** Reports written after the crossing one, per task: what the worker spent before it heard. */
  readonly reportsAfterCrossingP50: number;
  readonly reportsAfterCrossingMax: number;
  readonly startupMs: number;
  readonly seconds: number;
}

const WORKER_ID_PREFIX = "worker-bench-guards-";
const HEARTBEAT_INTERVAL_MS = 5_000;

interface TaskTrace {
  crossingWrittenAt?: number;
  reportsAfterCrossing: number;
  lastTotal: number;
  receivedAt?: number;
  byHeartbeat: boolean;
}

export async function measureGuards(workDirectory: string, plan: GuardsPlan): Promise<GuardsResults> {
  const seedFile = join(workDirectory, "demo-seed.json");
  writeFileSync(seedFile, JSON.stringify(demoSeed()));
  const bootStarted = Date.now();
  // The cleanup's timer stays off: this measures the stream's guard alone.
  const local = await startLocalStack(seedFile, {
    timeoutMs: 90_000,
    env: { CLEANUP_INTERVAL_SECONDS: "0", POWERTOOLS_LOG_LEVEL: "SILENT" },
  });
  const startupMs = Date.now() - bootStarted;
  try {
    const { stack } = local;
    process.env.AWS_ACCESS_KEY_ID = LOCAL_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = LOCAL_CREDENTIALS.secretAccessKey;
    const clientOptions = { ...localClientOptions, region: LOCAL_REGION };
    const dynamoDb = createDynamoDbClient({ ...clientOptions, endpoint: stack.dynamodb_endpoint });
    const sqs = createSqsClient({ ...clientOptions, requestTimeoutMs: 30_000, endpoint: stack.sqs_endpoint });
    const organizationId = `org-bench-guards-${randomUUID().slice(0, 8)}`;
    await putOrganizationLimits(dynamoDb, stack.tables.limits, organizationId, { max_tokens: plan.limit });

    const traces = new Map<string, TaskTrace>();
    const workers = Array.from({ length: Math.ceil(plan.tasks / plan.tasksPerWorker) }, (_, index) =>
      createReferenceWorker({
        workerId: `${WORKER_ID_PREFIX}${index}`,
        sqs,
        signalQueue: ownerQueueSettings(stack.signal_channels.workers),
        updates: dynamoWorkerExecutionUpdates(dynamoDb, stack.tables.executions),
        heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
        log: (event, fields) => {
          const trace = traces.get(String(fields.task_id));
          if (!trace || trace.receivedAt !== undefined) return;
          if (event === "stop received") trace.receivedAt = Date.now();
          if (event === "aborting task" && fields.why === "heartbeat saw the stop") {
            trace.receivedAt = Date.now();
            trace.byHeartbeat = true;
          }
        },
      }),
    );
    await Promise.all(workers.map((worker) => worker.openQueue()));
    for (const worker of workers) void worker.startPolling();

    const random = seededRandom(20);
    const started = Date.now();
    const runs = Array.from({ length: plan.tasks }, async (_, index) => {
      // Spread over one interval, so that the reports of the N tasks do not all land together.
      await new Promise((resolve) => setTimeout(resolve, Math.floor((index / plan.tasks) * plan.intervalMs)));
      const workerIndex = index % workers.length;
      const worker = workers[workerIndex] as (typeof workers)[number];
      const now = formatTimestamp(new Date());
      const execution = {
        id: randomUUID(),
        agent_id: "agent-bench-guards",
        organization_id: organizationId,
        input: { text: "spend tokens", files: [] },
        status: "executing",
        created_at: now,
        started_at: now,
        worker_id: `${WORKER_ID_PREFIX}${workerIndex}`,
        source: "api",
      };
      await dynamoDb.send(
        new PutItemCommand({
          TableName: stack.tables.executions,
          Item: marshall({ ...execution, ...livenessIndexKeys(execution) }),
        }),
      );
      const trace: TaskTrace = { reportsAfterCrossing: 0, lastTotal: 0, byHeartbeat: false };
      traces.set(execution.id, trace);
      const [low, high] = plan.tokensPerReport;
      const tokensPerReport = low + Math.floor(random() * (high - low + 1));
      const end = await worker.run(
        execution.id,
        spendTokensTask(dynamoTokenUsageReporter(dynamoDb, stack.tables.executions, execution.id), {
          tokensPerReport,
          intervalMs: plan.intervalMs,
          // Enough to cross the limit and then some, if no stop ever came.
          maxReports: Math.ceil(plan.limit / tokensPerReport) + 40,
          onReported: (total, writtenAt) => {
            trace.lastTotal = total;
            if (total > plan.limit && trace.crossingWrittenAt === undefined) trace.crossingWrittenAt = writtenAt;
            else if (trace.crossingWrittenAt !== undefined) trace.reportsAfterCrossing += 1;
          },
        }),
      );
      const { Item } = await dynamoDb.send(
        new GetItemCommand({
          TableName: stack.tables.executions,
          Key: { id: { S: execution.id } },
          ConsistentRead: true,
        }),
      );
      const record = Item ? unmarshall(Item) : {};
      return {
        trace,
        end,
        stoppedAt: record.stop_reason === "token_limit_exceeded" ? timestampMillis(record.stopped_at) : undefined,
      };
    });
    const outcomes = await Promise.all(runs);
    const seconds = round((Date.now() - started) / 1000, 1);
    for (const worker of workers) worker.stopPolling();

    const stopped = outcomes.filter(
      (outcome) => outcome.stoppedAt !== undefined && outcome.trace.crossingWrittenAt !== undefined,
    );
    const toStopped = stopped.map(
      (outcome) => (outcome.stoppedAt as number) - (outcome.trace.crossingWrittenAt as number),
    );
    const aborted = stopped.filter((outcome) => outcome.trace.receivedAt !== undefined);
    const toAbort = aborted.map(
      (outcome) => (outcome.trace.receivedAt as number) - (outcome.trace.crossingWrittenAt as number),
    );
    const overshoot = stopped.map((outcome) => outcome.trace.lastTotal - plan.limit);
    const after = stopped.map((outcome) => outcome.trace.reportsAfterCrossing);
    dynamoDb.destroy();
    sqs.destroy();
    return {
      ...plan,
      stopped: stopped.length,
      notStopped: outcomes.length - stopped.length,
      abortedByMessage: aborted.filter((outcome) => !outcome.trace.byHeartbeat).length,
      abortedByHeartbeat: aborted.filter((outcome) => outcome.trace.byHeartbeat).length,
      crossingToStoppedP50Ms: round(median(toStopped)),
      crossingToStoppedP99Ms: round(percentile(toStopped, 0.99)),
      crossingToStoppedMaxMs: round(Math.max(...toStopped)),
      crossingToAbortP50Ms: round(median(toAbort)),
      crossingToAbortP99Ms: round(percentile(toAbort, 0.99)),
      crossingToAbortMaxMs: round(Math.max(...toAbort)),
      overshootP50Tokens: median(overshoot),
      overshootMaxTokens: Math.max(...overshoot),
      reportsAfterCrossingP50: median(after),
      reportsAfterCrossingMax: Math.max(...after),
      startupMs,
      seconds,
    };
  } finally {
    await local.stop();
  }
}
