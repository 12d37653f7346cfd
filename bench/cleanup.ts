/**
 * `npm run bench -- --only cleanup`: what a cleanup run reads at 1,000, 10,000 and 30,000 running
 * tasks, and whether it reaches every overdue one (issue 24, items 5 and 6).
 *
 * For each size, a fresh local stack (`npm start` in a process of its own: DynamoDB Local, fauxqs,
 * the stream poller feeding the real execution-stream handler, which writes each task's duration
 * deadline). The fleet is seeded with BatchWriteItem as the worker library leaves its tasks
 * (running, heartbeated within the last minute, in the liveness indexes), over five organizations:
 * one with a default `max_duration_seconds` of 600, three with 3,600, one with none. Starts are
 * spread over each organization's limit (up to 5.5 hours for the one without), one task in 500
 * has a limit of its own (2 hours), and a few are overdue: past 600 s, past 3,600 s, past their
 * own limit, past the 6-hour backstop.
 *
 * Each run is one cleanup run as `npm run cleanup` wires it (createLocalCleanup, the stop handler
 * in-process, composed as its handler.ts composes it), its DynamoDB client counted by the suite's call counter (test/support). Its clock
 * is held at the moment the fleet was seeded, so that tasks crossing their limits while 30,000 are
 * seeded do not blur the figures: the runs see the fleet as seeded. Then one organization's
 * default is raised, and the runs that rewrite its tasks' deadlines are counted apart.
 */
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BatchWriteItemCommand, type DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { composeStopTask } from "../functions/stop-task/compose.js";
import { LOCAL_CREDENTIALS, LOCAL_REGION, localClientOptions } from "../infra/local/emulators.js";
import { pointFunctionsAt, useLocalProcessDefaults } from "../infra/local/functions.js";
import { createLocalCleanup, type InvokableHandler, inProcessStopInvoker } from "../infra/local/local-cleanup.js";
import { ownerQueueSettings } from "../infra/local/provision.js";
import { createDynamoDbClient, createSqsClient } from "../lib/aws/clients.js";
import type { CleanupReport } from "../lib/cleanup.js";
import { readStopTaskConfig } from "../lib/config.js";
import { allShards, livenessIndexKeys } from "../lib/executions/indexes.js";
import { putOrganizationLimits } from "../lib/executions/limits-store.js";
import type { Limits } from "../lib/limits.js";
import { executionIndexes } from "../lib/resources.js";
import { formatTimestamp } from "../lib/timestamp.js";
import { dynamoWorkerExecutionUpdates } from "../lib/worker/execution-updates.js";
import { createReferenceWorker } from "../lib/worker/reference-worker.js";
import { countAwsCalls } from "../test/support/aws-call-counter.js";
import { startLocalStack } from "../test/support/local-stack-process.js";
import { countIndexItems } from "./index-counts.js";
import { seededRandom } from "./seeded-random.js";
import { round } from "./stats.js";

export interface CleanupRunFigures {
  readonly run: string;
  /** Items the run's Queries read from the executions table (ScannedCount). */
  readonly itemsRead: number;
  readonly queries: number;
  readonly writes: number;
  readonly stoppedByGuard: number;
  readonly stoppedOverlong: number;
  readonly deadlinesRewritten: number;
  readonly truncated: boolean;
  readonly ms: number;
}

export interface CleanupSizeResults {
  readonly runningTasks: number;
  readonly overdue: number;
  readonly ownLimits: number;
  readonly seedSeconds: number;
  /** From the end of the seeding to every task's deadline written by the stream processor. */
  readonly deadlinesSeconds: number;
  readonly runs: readonly CleanupRunFigures[];
  readonly overdueLeftAfterTwoRuns: number;
  readonly healthyStopped: number;
  /** Runs it took to rewrite the deadlines of the organization whose default rose, and what they read. */
  readonly rewrite: { readonly runs: number; readonly itemsRead: number; readonly rewritten: number };
  readonly steadyAfterRewrite: CleanupRunFigures;
}

const WORKER_ID = "worker-bench-cleanup";
const organizationDefaults = {
  tenMinutes: { max_duration_seconds: 600 },
  hourA: { max_duration_seconds: 3600 },
  hourB: { max_duration_seconds: 3600 },
  hourC: { max_duration_seconds: 3600 },
  none: {},
} as const satisfies Record<string, Limits>;
type OrganizationName = keyof typeof organizationDefaults;
const organizationNames = Object.keys(organizationDefaults) as OrganizationName[];
/** How long each organization's healthy tasks have been running, at most (seconds). */
const healthyAgeSeconds: Record<OrganizationName, number> = {
  tenMinutes: 540,
  hourA: 3540,
  hourB: 3540,
  hourC: 3540,
  none: 5.5 * 3600,
};
const OWN_LIMIT_SECONDS = 7200;
const OWN_LIMIT_EVERY = 500;

interface SeededTask {
  readonly item: Record<string, unknown>;
  readonly overdue: boolean;
}

function fleet(size: number, organizations: Record<OrganizationName, string>, at: number): SeededTask[] {
  const random = seededRandom(size);
  const overdueCount = 10 + size / 1000;
  const task = (organization: OrganizationName, ageSeconds: number, ownLimit?: number) => {
    const startedAt = formatTimestamp(new Date(at - ageSeconds * 1000));
    const record = {
      id: randomUUID(),
      agent_id: `agent-bench-${organization}`,
      organization_id: organizations[organization],
      input: { text: "work through the quarterly reports and summarise each", files: [] },
      status: "executing",
      created_at: startedAt,
      started_at: startedAt,
      worker_id: WORKER_ID,
      source: "api",
      ...(ownLimit === undefined
        ? {}
        : {
            limits: { max_tokens: null, max_tool_calls: null, max_duration_seconds: ownLimit },
            limits_set_at: startedAt,
          }),
    };
    const heartbeatAt = formatTimestamp(new Date(at - Math.floor(random() * 60_000)));
    return { ...record, ...livenessIndexKeys({ ...record, heartbeat_at: heartbeatAt }) };
  };
  const tasks: SeededTask[] = [];
  for (let index = 0; index < size - overdueCount; index += 1) {
    if (index % OWN_LIMIT_EVERY === 0) {
      tasks.push({ item: task("hourB", random() * (OWN_LIMIT_SECONDS - 60), OWN_LIMIT_SECONDS), overdue: false });
      continue;
    }
    const organization = organizationNames[index % organizationNames.length] as OrganizationName;
    tasks.push({ item: task(organization, random() * healthyAgeSeconds[organization]), overdue: false });
  }
  const overdueKinds = [
    () => task("tenMinutes", 600 + 5 + random() * 120),
    () => task("hourA", 3600 + 5 + random() * 600),
    () => task("hourC", 1800 + 5 + random() * 600, 1800),
    () => task("none", 6 * 3600 + 5 + random() * 600),
  ];
  for (let index = 0; index < overdueCount; index += 1)
    tasks.push({ item: (overdueKinds[index % overdueKinds.length] as () => Record<string, unknown>)(), overdue: true });
  return tasks;
}

/** `work` on each entry, four at a time: DynamoDB Local on two cores answers no faster with more. */
async function inLanes<Entry, Result>(
  entries: readonly Entry[],
  work: (entry: Entry) => Promise<Result>,
): Promise<Result[]> {
  const results: Result[] = new Array(entries.length);
  let next = 0;
  const lane = async () => {
    while (next < entries.length) {
      const index = next++;
      results[index] = await work(entries[index] as Entry);
    }
  };
  await Promise.all(Array.from({ length: 4 }, lane));
  return results;
}

async function batchWrite(dynamoDb: DynamoDBClient, tableName: string, items: readonly Record<string, unknown>[]) {
  const chunks: Record<string, unknown>[][] = [];
  for (let index = 0; index < items.length; index += 25) chunks.push(items.slice(index, index + 25));
  await inLanes(chunks, async (chunk) => {
    let requests = chunk.map((item) => ({ PutRequest: { Item: marshall(item, { removeUndefinedValues: true }) } }));
    while (requests.length > 0) {
      const { UnprocessedItems } = await dynamoDb.send(
        new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }),
      );
      requests = (UnprocessedItems?.[tableName] ?? []) as typeof requests;
    }
  });
}

/** Items in the active-by-deadline index: the bench's own reads, not counted in any run. */
async function deadlinesWritten(dynamoDb: DynamoDBClient, tableName: string): Promise<number> {
  return countIndexItems(dynamoDb, tableName, executionIndexes.activeByDeadline, allShards("active"));
}

async function measureSize(workDirectory: string, size: number): Promise<CleanupSizeResults> {
  const seedFile = join(workDirectory, "cleanup-seed.json");
  writeFileSync(seedFile, JSON.stringify({ api_keys: [], executions: [] }));
  // The cleanup's timer stays off: the bench runs it, one run at a time.
  const local = await startLocalStack(seedFile, {
    timeoutMs: 90_000,
    env: { CLEANUP_INTERVAL_SECONDS: "0", POWERTOOLS_LOG_LEVEL: "SILENT" },
  });
  try {
    const { stack } = local;
    process.env.AWS_ACCESS_KEY_ID = LOCAL_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = LOCAL_CREDENTIALS.secretAccessKey;
    // A longer request timeout than the laptop default: 30,000 items seeded keep DynamoDB Local busy.
    const clientOptions = {
      ...localClientOptions,
      requestTimeoutMs: 30_000,
      region: LOCAL_REGION,
      endpoint: stack.dynamodb_endpoint,
    };
    const dynamoDb = createDynamoDbClient(clientOptions);
    const sqs = createSqsClient({ ...localClientOptions, region: LOCAL_REGION, endpoint: stack.sqs_endpoint });
    // The fleet's worker has its queue, so that each stop is sent, as it is in a fleet.
    await createReferenceWorker({
      workerId: WORKER_ID,
      sqs,
      signalQueue: ownerQueueSettings(stack.signal_channels.workers),
      updates: dynamoWorkerExecutionUpdates(dynamoDb, stack.tables.executions),
    }).openQueue();

    const suffix = randomUUID().slice(0, 8);
    const organizations = Object.fromEntries(
      organizationNames.map((name) => [name, `org-bench-${name}-${suffix}`]),
    ) as Record<OrganizationName, string>;
    const at = Date.now();
    const settledDefaults = new Date(at - 60_000);
    for (const name of organizationNames)
      await putOrganizationLimits(
        dynamoDb,
        stack.tables.limits,
        organizations[name],
        organizationDefaults[name],
        settledDefaults,
      );

    useLocalProcessDefaults();
    pointFunctionsAt(stack);
    // The stop function as its handler.ts composes it, for this size's stack (its module, loaded
    // once per process, would keep the first stack's clients).
    const stopHandler = composeStopTask(readStopTaskConfig(), { dynamoDb, sqs }) as InvokableHandler;
    const countedDynamoDb = createDynamoDbClient(clientOptions);
    const counter = countAwsCalls(countedDynamoDb);
    const cleanup = createLocalCleanup(stack, inProcessStopInvoker(stopHandler), process.env, {
      dynamoDb: countedDynamoDb,
      now: () => new Date(at),
    });
    // The defaults were set before the fleet ran, as an operator's are: a first run finds no task
    // whose deadline they could move, and records so (an empty rewrite each).
    await cleanup.run();

    const tasks = fleet(size, organizations, at);
    const seedStarted = Date.now();
    await batchWrite(
      dynamoDb,
      stack.tables.executions,
      tasks.map((task) => task.item),
    );
    const seedSeconds = round((Date.now() - seedStarted) / 1000, 1);
    const deadlinesStarted = Date.now();
    while ((await deadlinesWritten(dynamoDb, stack.tables.executions)) < size) {
      if (Date.now() - deadlinesStarted > 15 * 60_000)
        throw new Error("the stream processor did not write every deadline");
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const deadlinesSeconds = round((Date.now() - deadlinesStarted) / 1000, 1);

    const run = async (name: string): Promise<CleanupRunFigures & { report: CleanupReport }> => {
      counter.reset();
      const started = performance.now();
      const report = await cleanup.run();
      const ms = round(performance.now() - started);
      return {
        run: name,
        itemsRead: counter.itemsRead(stack.tables.executions),
        queries: counter.calls.filter((call) => call === "QueryCommand").length,
        writes: counter.calls.filter((call) => call === "UpdateItemCommand").length,
        stoppedByGuard: report.stoppedOverDurationLimit,
        stoppedOverlong: report.stoppedOverlong,
        deadlinesRewritten: report.deadlinesRewritten,
        truncated: report.truncated,
        ms,
        report,
      };
    };
    const figures = ({ report: _report, ...rest }: CleanupRunFigures & { report: CleanupReport }) => rest;

    const runs = [await run("1"), await run("2")];
    const statuses = await inLanes(tasks, async (task) => {
      const { Item } = await dynamoDb.send(
        new GetItemCommand({
          TableName: stack.tables.executions,
          Key: { id: { S: String(task.item.id) } },
          ProjectionExpression: "#status",
          ExpressionAttributeNames: { "#status": "status" },
        }),
      );
      return { overdue: task.overdue, stopped: Item?.status?.S === "stopped" };
    });
    runs.push(await run("3 (steady)"));

    // hourB's default rises: its tasks' deadlines move out, run by run, from where the last stopped.
    await putOrganizationLimits(
      dynamoDb,
      stack.tables.limits,
      organizations.hourB,
      { max_duration_seconds: 4000 },
      new Date(at - 10_000),
    );
    const rewrite = { runs: 0, itemsRead: 0, rewritten: 0 };
    for (let index = 0; index < 50; index += 1) {
      const figuresOfRun = await run(`rewrite ${index + 1}`);
      rewrite.runs += 1;
      rewrite.itemsRead += figuresOfRun.itemsRead;
      rewrite.rewritten += figuresOfRun.deadlinesRewritten;
      if (!figuresOfRun.truncated) break;
    }
    const steadyAfterRewrite = await run("steady after the rewrite");
    countedDynamoDb.destroy();
    dynamoDb.destroy();
    sqs.destroy();
    return {
      runningTasks: size,
      overdue: tasks.filter((task) => task.overdue).length,
      ownLimits: tasks.filter((task) => task.item.limits !== undefined).length,
      seedSeconds,
      deadlinesSeconds,
      runs: runs.map(figures),
      overdueLeftAfterTwoRuns: statuses.filter((status) => status.overdue && !status.stopped).length,
      healthyStopped: statuses.filter((status) => !status.overdue && status.stopped).length,
      rewrite,
      steadyAfterRewrite: figures(steadyAfterRewrite),
    };
  } finally {
    await local.stop();
  }
}

export async function measureCleanup(
  workDirectory: string,
  sizes: readonly number[],
): Promise<readonly CleanupSizeResults[]> {
  const results: CleanupSizeResults[] = [];
  for (const size of sizes) results.push(await measureSize(workDirectory, size));
  return results;
}
