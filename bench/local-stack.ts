/**
 * Latency and throughput through `npm start` (the local server on DynamoDB Local and fauxqs),
 * against the same run's bare SDK calls to the same emulators from this process.
 */
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { join } from "node:path";
import { GetItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { DEMO_API_KEY, DEMO_ORGANIZATION, demoSeed } from "../infra/local/demo-data.js";
import { LOCAL_CREDENTIALS, LOCAL_REGION, localClientOptions } from "../infra/local/emulators.js";
import { ownerQueueSettings } from "../infra/local/provision.js";
import { loadSeed, seedFileSchema } from "../infra/local/seed.js";
import { createDynamoDbClient, createSqsClient } from "../lib/aws/clients.js";
import { ensureSignalQueue } from "../lib/worker/signal-queue.js";
import { startLocalStack } from "../test/support/local-stack-process.js";
import { ORGANIZATION, recordSuccessCalls } from "./hot-path.js";
import { countOrganizationIndexed, untilOrganizationsIndexed } from "./index-counts.js";
import { median, percentile, round } from "./stats.js";

export interface LoadSummary {
  readonly requests: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requestsPerSecond: number;
}

export interface LocalStackResults {
  /**
   * `npm start` until its stack file exists (polled every 100 ms): dependencies checked, emulators up, tables and
   * queues created, demo data loaded.
   */
  readonly startupMs: number;
  readonly runs: readonly {
    readonly concurrency: number;
    readonly stop: LoadSummary;
    /** The stop's own UpdateItem then SendMessage, straight from the SDK: the work a stop cannot avoid. */
    readonly bareUpdateAndSend: LoadSummary;
    readonly bareGetItem: LoadSummary;
    readonly ratioToUpdateAndSend: number;
    readonly ratioToGetItem: number;
  }[];
}

const WAVES_PER_BLOCK = 10;
const BENCH_WORKER = "worker-bench";
const round2 = (value: number) => round(value, 2);

/** One block of `requests` calls, `concurrency` at a time; latencies are appended to `into`. */
async function runBlock(
  concurrency: number,
  requests: number,
  call: () => Promise<void>,
  into: number[],
): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, requests) }, async () => {
      while (next < requests) {
        next++;
        const callStarted = process.hrtime.bigint();
        await call();
        into.push(Number(process.hrtime.bigint() - callStarted) / 1e6);
      }
    }),
  );
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/**
 * Every kind of call in turn, a block each per round, so that all are measured under the same
 * conditions: DynamoDB Local's JVM keeps warming up over thousands of requests and the machine's
 * load drifts, and on a small machine a process that has just answered answers its next call
 * sooner than one woken from idle. One call per block when calls run one at a time (measured at
 * concurrency 1: stops then bare calls, each all at once, read 1.8x; in blocks of 40, 1.4x;
 * alternated call by call, 1.15-1.45x); ten waves per block when they run concurrently, so that each
 * block reaches its steady state.
 */
async function runInterleaved<Kind extends string>(
  concurrency: number,
  requests: number,
  calls: Record<Kind, () => Promise<void>>,
): Promise<Record<Kind, LoadSummary>> {
  const blockSize = concurrency === 1 ? 1 : WAVES_PER_BLOCK * concurrency;
  const kinds = Object.keys(calls) as Kind[];
  const latencies = new Map(kinds.map((kind) => [kind, [] as number[]]));
  const seconds = new Map(kinds.map((kind) => [kind, 0]));
  for (let done = 0; done < requests; done += blockSize) {
    for (const kind of kinds) {
      const elapsed = await runBlock(
        concurrency,
        Math.min(blockSize, requests - done),
        calls[kind],
        latencies.get(kind) ?? [],
      );
      seconds.set(kind, (seconds.get(kind) ?? 0) + elapsed);
    }
  }
  return Object.fromEntries(
    kinds.map((kind) => {
      const samples = latencies.get(kind) ?? [];
      return [
        kind,
        {
          requests: samples.length,
          p50Ms: round2(median(samples)),
          p99Ms: round2(percentile(samples, 0.99)),
          requestsPerSecond: Math.round(samples.length / (seconds.get(kind) ?? 1)),
        },
      ];
    }),
  ) as Record<Kind, LoadSummary>;
}

function post(agent: Agent, url: URL, apiKey: string): Promise<number> {
  return new Promise((resolvePost, reject) => {
    const outgoing = request(url, { method: "POST", agent, headers: { "x-api-key": apiKey } }, (response) => {
      response.resume();
      response.on("end", () => resolvePost(response.statusCode ?? 0));
    });
    outgoing.on("error", reject);
    outgoing.end();
  });
}

export async function measureLocalStack(
  workDirectory: string,
  plan: readonly { concurrency: number; requests: number }[],
): Promise<LocalStackResults> {
  const seedFile = join(workDirectory, "demo-seed.json");
  writeFileSync(seedFile, JSON.stringify(demoSeed()));
  const bootStarted = process.hrtime.bigint();
  const local = await startLocalStack(seedFile, { timeoutMs: 90_000 });
  const startupMs = Number(process.hrtime.bigint() - bootStarted) / 1e6;
  try {
    const { stack } = local;
    process.env.AWS_ACCESS_KEY_ID = LOCAL_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = LOCAL_CREDENTIALS.secretAccessKey;
    // Recorded quietly: the handler's log lines belong to the server, not to the bench's table.
    process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
    process.env.POWERTOOLS_METRICS_DISABLED = "true";
    const successCalls = await recordSuccessCalls();
    const clientOptions = { ...localClientOptions, region: LOCAL_REGION };
    const dynamoDb = createDynamoDbClient({ ...clientOptions, endpoint: stack.dynamodb_endpoint });
    const sqs = createSqsClient({ ...clientOptions, endpoint: stack.sqs_endpoint });
    // The bench's worker makes its queue, as a worker does at start, so every stop sends there.
    const workerQueueUrl = await ensureSignalQueue(
      sqs,
      ownerQueueSettings(stack.signal_channels.workers),
      BENCH_WORKER,
    );

    // Running executions of the demo organization: one for each stop, one for each bare update.
    const warmUp = 50;
    const total = plan.reduce((sum, step) => sum + step.requests, warmUp);
    const executionIds = (count: number) => Array.from({ length: count }, () => randomUUID());
    const stopIds = executionIds(total);
    const bareIds = executionIds(total);
    const startedAt = new Date().toISOString();
    const seed = seedFileSchema.parse({
      executions: [...stopIds, ...bareIds].map((id, index) => ({
        id,
        // The replayed update carries its recorded organization condition.
        organization_id: index < stopIds.length ? DEMO_ORGANIZATION : ORGANIZATION,
        agent_id: "agent-bench",
        status: "executing",
        started_at: startedAt,
        worker_id: BENCH_WORKER,
        input: { text: "Research the market and summarise the quarterly report", files: [] },
      })),
    });
    const indexedBefore = {
      [DEMO_ORGANIZATION]: await countOrganizationIndexed(dynamoDb, stack.tables.executions, DEMO_ORGANIZATION),
      [ORGANIZATION]: await countOrganizationIndexed(dynamoDb, stack.tables.executions, ORGANIZATION),
    };
    await loadSeed(seed, { dynamoDb, executionsTable: stack.tables.executions, apiKeysTable: stack.tables.api_keys });
    // The stream processor runs in the `npm start` process and indexes each newborn running task (bulk stop): the
    // measured calls start once it has caught up with the seed, as a user's stop would meet it, not beside a backlog
    // of thousands of index writes.
    await untilOrganizationsIndexed(dynamoDb, stack.tables.executions, {
      [DEMO_ORGANIZATION]: (indexedBefore[DEMO_ORGANIZATION] ?? 0) + stopIds.length,
      [ORGANIZATION]: (indexedBefore[ORGANIZATION] ?? 0) + bareIds.length,
    });

    const agent = new Agent({ keepAlive: true, maxSockets: 64 });
    let stopIndex = 0;
    let bareIndex = 0;
    const stop = async () => {
      const status = await post(agent, new URL(`/v1/tasks/${stopIds[stopIndex++]}/stop`, stack.api_url), DEMO_API_KEY);
      if (status !== 200) throw new Error(`a stop answered ${status}`);
    };
    // The stop's own two requests (its conditions, index attributes and message), on other executions.
    const bareUpdateAndSend = async () => {
      const id = bareIds[bareIndex++] ?? "";
      await dynamoDb.send(
        new UpdateItemCommand({
          ...successCalls.updateItem,
          TableName: stack.tables.executions,
          Key: { id: { S: id } },
        }),
      );
      await sqs.send(new SendMessageCommand({ ...successCalls.sendMessage, QueueUrl: workerQueueUrl }));
    };
    const bareGetItem = async () => {
      await dynamoDb.send(
        new GetItemCommand({
          TableName: stack.tables.executions,
          Key: { id: { S: bareIds[0] ?? "" } },
          ConsistentRead: true,
        }),
      );
    };

    // First calls pay for connections, the key lookup and the JIT; they are not measured.
    await runInterleaved(1, warmUp, { stop, bareUpdateAndSend, bareGetItem });

    const runs = [];
    for (const { concurrency, requests } of plan) {
      const measured = await runInterleaved(concurrency, requests, { stop, bareUpdateAndSend, bareGetItem });
      runs.push({
        concurrency,
        stop: measured.stop,
        bareUpdateAndSend: measured.bareUpdateAndSend,
        bareGetItem: measured.bareGetItem,
        ratioToUpdateAndSend: round2(measured.stop.p50Ms / measured.bareUpdateAndSend.p50Ms),
        ratioToGetItem: round2(measured.stop.p50Ms / measured.bareGetItem.p50Ms),
      });
    }
    agent.destroy();
    dynamoDb.destroy();
    sqs.destroy();
    return { startupMs: Math.round(startupMs), runs };
  } finally {
    await local.stop();
  }
}
