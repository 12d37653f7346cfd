/**
 * `npm run bench -- --only sweep`: the hourly sweep of idle signal queues over a fleet of 10,000
 * owners' queues, as the cleanup function runs it (`composeCleanup`, the hourly schedule's input,
 * a Lambda context counting down from its 60 s timeout, the 5,000-queue cap).
 *
 * On DynamoDB Local (the sweep-positions table) and fauxqs behind test/support/sqs-paging-proxy.ts,
 * which pages ListQueues as SQS does (1,000 a page, NextToken, no name order): neither emulator
 * pages on its own. `workerQueues` + `environmentQueues` queues are made, every `idleEvery`-th
 * one last seen two days ago (its worker gone), the others an hour ago; then sweeps run until a run
 * deletes nothing. Counted per run: queues listed, judged and deleted, the SQS calls by operation
 * (from the proxy), and the run's wall time on this machine.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { CreateQueueCommand } from "@aws-sdk/client-sqs";
import { composeCleanup } from "../functions/cleanup/compose.js";
import {
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  localClientOptions,
  startDynamoDbLocal,
  startSqsEmulator,
} from "../infra/local/emulators.js";
import { localLambdaContext } from "../infra/local/lambda-context.js";
import { provisionLocalResources, type SignalChannelResources } from "../infra/local/provision.js";
import { createDynamoDbClient, createSqsClient } from "../lib/aws/clients.js";
import { readCleanupConfig } from "../lib/config.js";
import { LAST_SEEN_TAG } from "../lib/signals/queue-names.js";
import { SWEEP_MAX_QUEUES_PER_RUN, SWEEP_SIGNAL_QUEUES_JOB, type SweepReport } from "../lib/signals/queue-sweep.js";
import { formatTimestamp } from "../lib/timestamp.js";
import { startSqsPagingProxy } from "../test/support/sqs-paging-proxy.js";

export interface SweepPlan {
  readonly workerQueues: number;
  readonly environmentQueues: number;
  /** Every this-many-th queue of each channel belongs to an owner gone two days ago. */
  readonly idleEvery: number;
}

export interface SweepRun extends SweepReport {
  readonly seconds: number;
  readonly calls: Record<string, number>;
}

export interface SweepResults extends SweepPlan {
  readonly idle: number;
  readonly cap: number;
  readonly setupSeconds: number;
  readonly runs: readonly SweepRun[];
  /** Queues left once the sweeps are done; the live ones, if all went well. */
  readonly left: number;
}

const HOUR_MS = 60 * 60_000;

export async function measureSweep(plan: SweepPlan): Promise<SweepResults> {
  const setupStarted = Date.now();
  // The emulators take any credentials; the SDK's default chain wants some.
  process.env.AWS_ACCESS_KEY_ID ??= LOCAL_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY ??= LOCAL_CREDENTIALS.secretAccessKey;
  const [dynamoDb, sqsEmulator] = await Promise.all([startDynamoDbLocal(), startSqsEmulator()]);
  const proxy = await startSqsPagingProxy(sqsEmulator.endpoint);
  try {
    const clientOptions = { ...localClientOptions, region: LOCAL_REGION };
    const clients = {
      dynamoDb: createDynamoDbClient({ ...clientOptions, endpoint: dynamoDb.endpoint }),
      sqs: createSqsClient({ ...clientOptions, endpoint: proxy.endpoint }),
    };
    const resources = await provisionLocalResources(clients, "bench-sweep");
    const { workers, environments } = resources.signal_channels;
    const now = Date.now();
    let idle = 0;
    const makeQueues = async (channel: SignalChannelResources, count: number) => {
      for (let start = 0; start < count; start += 25) {
        await Promise.all(
          Array.from({ length: Math.min(25, count - start) }, (_, offset) => {
            const index = start + offset;
            const gone = index % plan.idleEvery === plan.idleEvery - 1;
            if (gone) idle += 1;
            return clients.sqs.send(
              new CreateQueueCommand({
                QueueName: `${channel.name_prefix}owner-${String(index).padStart(6, "0")}`,
                tags: { [LAST_SEEN_TAG]: formatTimestamp(new Date(now - (gone ? 48 : 1) * HOUR_MS)) },
              }),
            );
          }),
        );
      }
    };
    await makeQueues(workers, plan.workerQueues);
    await makeQueues(environments, plan.environmentQueues);
    const setupSeconds = (Date.now() - setupStarted) / 1000;

    const config = readCleanupConfig({
      EXECUTIONS_TABLE_NAME: resources.tables.executions,
      LIMITS_TABLE_NAME: resources.tables.limits,
      SWEEP_POSITIONS_TABLE_NAME: resources.tables.sweep_positions,
      WORKER_QUEUE_URL_PREFIX: workers.url_prefix,
      ENVIRONMENT_QUEUE_URL_PREFIX: environments.url_prefix,
      STOP_FUNCTION_NAME: "none (the sweep stops nothing)",
    });
    // The function's own logs and metrics would bury the bench's table: silenced, the rest as wired.
    process.env.POWERTOOLS_METRICS_DISABLED = "true";
    const handler = composeCleanup(
      config,
      { ...clients, invokeStop: () => Promise.reject(new Error("the sweep invokes no stop")) },
      { logger: new Logger({ logLevel: "SILENT" }) },
    );

    const runs: SweepRun[] = [];
    // Until a run deletes nothing: the first runs reach every idle queue, the last shows a clean fleet.
    do {
      const before = new Map(proxy.seen);
      const started = performance.now();
      const report = (await handler({ job: SWEEP_SIGNAL_QUEUES_JOB }, localLambdaContext("cleanup"))) as SweepReport;
      const seconds = (performance.now() - started) / 1000;
      const calls = Object.fromEntries(
        [...proxy.seen]
          .map(([operation, count]) => [operation, count - (before.get(operation) ?? 0)])
          .filter(([, n]) => Number(n) > 0),
      );
      runs.push({ ...report, seconds, calls });
    } while ((runs.at(-1)?.deleted ?? 0) > 0 && runs.length < 10);

    const left = runs.at(-1)?.listed ?? 0;
    return { ...plan, idle, cap: SWEEP_MAX_QUEUES_PER_RUN, setupSeconds, runs, left };
  } finally {
    await proxy.close();
    await Promise.all([dynamoDb.stop(), sqsEmulator.stop()]);
  }
}
