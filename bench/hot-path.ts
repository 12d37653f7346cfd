/**
 * Hot path CPU and AWS calls per request of the stop handler. bench/run.ts bundles this file like
 * a function and runs it in a process of its own: the handler logs and emits metrics for real, as
 * in Lambda, so that process's stdout is discarded, and the results come back over IPC.
 */
import {
  type DynamoDBClient,
  GetItemCommand,
  type GetItemCommandInput,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from "@aws-sdk/client-dynamodb";
import { SendMessageCommand, type SendMessageCommandInput } from "@aws-sdk/client-sqs";
import { marshall } from "@aws-sdk/util-dynamodb";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import { composeGetTask } from "../functions/get-task/compose.js";
import { composeStopTask } from "../functions/stop-task/compose.js";
import { toApiGatewayProxyEvent } from "../infra/local/api-gateway-event.js";
import { hashApiKey } from "../lib/auth/api-keys.js";
import { createDynamoDbClient, createSqsClient } from "../lib/aws/clients.js";
import { awsClientOptions, readStopTaskConfig } from "../lib/config.js";
import { functionDefinitions } from "../lib/resources.js";
import { countAwsCalls } from "../test/support/aws-call-counter.js";
import { aLambdaContext, aStopRequest } from "../test/support/factories.js";
import { hotPathEnvironment } from "./hot-path-environment.js";
import { median, percentile, round } from "./stats.js";
import { type DynamoDbAnswers, dynamoDbAnswer, StubTransport } from "./stub-transport.js";

export const HOT_PATH_CALLS = 10_000;
const WARM_UP_CALLS = 1_000;
/**
 * The judged paths (the stop's success, Get Task) and their bare SDK references alternate in small
 * blocks (handler then SDK, then SDK then handler, and so on), and each pair of neighbouring blocks
 * gives a ratio of medians: whatever slows the machine for a moment (GC, JIT, other work on the
 * machine) slows both sides of a pair alike. A repetition is REPETITION_CALLS calls a side; its
 * ratio is the median of its pairs'. The figure is the median of the repetitions', and repetitions
 * go on (at least MIN_REPETITIONS, at most MAX_REPETITIONS) until the median's 95% confidence
 * interval (order statistics) is narrower than TARGET_SPREAD. A single ratio over blocks of 1,000
 * read 1.37-1.43x on a quiet machine and 1.5-1.7x on a busy one; 7 fixed repetitions 1.44-1.61x.
 */
const BLOCK = 100;
const REPETITION_CALLS = 1_000;
export const MIN_REPETITIONS = 9;
export const MAX_REPETITIONS = 45;
export const TARGET_SPREAD = 0.05;

export const hotPaths = [
  "success",
  "terminal",
  "unauthorized",
  "forbidden",
  "not_found",
  "invalid_task_id",
  "get_task",
] as const;
export type HotPath = (typeof hotPaths)[number];
/** The paths judged against a bare SDK reference, interleaved with it. */
export type JudgedPath = Extract<HotPath, "success" | "get_task">;

export interface TimingSummary {
  readonly medianUs: number;
  readonly p99Us: number;
  /** Process CPU (user + system) over the timed calls, per call. */
  readonly cpuUs: number;
}

export interface InterleavedRatio {
  /** The median of the repetitions' ratios: the figure judged. */
  readonly ratio: number;
  /** Each repetition's median of its neighbouring pairs' ratios, in order. */
  readonly repetitions: readonly number[];
  /** The 95% confidence interval of the median, from the repetitions' order statistics. */
  readonly low: number;
  readonly high: number;
  /** The same pairs' ratio of their 10th percentiles (the calls least touched by anything else), per repetition. */
  readonly fastRepetitions: readonly number[];
  /** The reference's own timings over all its blocks. */
  readonly baseline: TimingSummary;
  readonly baselineCalls: string;
}

export interface HotPathResults {
  readonly calls: number;
  readonly judged: Record<JudgedPath, InterleavedRatio>;
  readonly paths: Record<HotPath, TimingSummary & { readonly status: number; readonly awsCalls: readonly string[] }>;
  readonly successColdKeyCache: { readonly status: number; readonly awsCalls: readonly string[] };
}

/** The 95% confidence interval of a sample's median from its order statistics (no distribution assumed). */
export function medianInterval(sample: readonly number[]): { low: number; high: number } {
  const sorted = [...sample].sort((a, b) => a - b);
  const n = sorted.length;
  const half = 0.98 * Math.sqrt(n);
  const low = sorted[Math.max(0, Math.floor(n / 2 - half))] ?? Number.NaN;
  const high = sorted[Math.min(n - 1, Math.ceil(n / 2 + half) - 1)] ?? Number.NaN;
  return { low, high };
}

// The same defaults the deployed function runs with (timeouts, attempts, TTLs).
const config = readStopTaskConfig(hotPathEnvironment);

const API_KEY = "sk_bench_0123456789abcdef";
export const ORGANIZATION = "org-bench";
const TASK_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

function storedExecution(overrides: Record<string, unknown>) {
  return marshall(
    {
      id: TASK_ID,
      agent_id: "agent-research",
      organization_id: ORGANIZATION,
      input: { text: "Research the market and summarise the quarterly report", files: [] },
      status: "executing",
      created_at: "2026-11-25T10:00:00.000Z",
      started_at: "2026-11-25T10:00:01.000Z",
      worker_id: "worker-7",
      source: "api",
      title: "Market research",
      idx_active_shard: "active#1",
      idx_heartbeat_at: "2026-11-25T10:04:00.000000Z",
      ...overrides,
    },
    { removeUndefinedValues: true },
  );
}

const stoppedItem = storedExecution({
  status: "stopped",
  is_manually_stopped: true,
  finished_at: "2026-11-25T10:05:00.000Z",
  stopped_at: "2026-11-25T10:05:00.000Z",
  stopped_by: "key_bench",
  stop_reason: "user_requested",
  updated_at: "2026-11-25T10:05:00.000Z",
  version: 1,
  idx_active_shard: undefined,
  idx_signal_shard: "signal#2",
  idx_signal_due_at: "2026-11-25T10:06:00.000000Z",
});

const keyItem = marshall({
  key_hash: hashApiKey(API_KEY),
  organization_id: ORGANIZATION,
  key_id: "key_bench",
  status: "active",
  created_at: "2026-01-01T00:00:00.000Z",
});

/** Get Task for the bench's task, with the bench's key. */
function aGetRequest(taskId: string, apiKey: string): APIGatewayProxyEvent {
  return toApiGatewayProxyEvent({
    method: "GET",
    path: `/v1/tasks/${taskId}`,
    resource: "/v1/tasks/{task_id}",
    pathParameters: { task_id: taskId },
    rawHeaders: [["x-api-key", apiKey]],
    body: null,
    stage: "test",
  });
}

type Scenario = { readonly event: APIGatewayProxyEvent; readonly answers: DynamoDbAnswers; readonly get?: true };

const scenarios: Record<HotPath, Scenario> = {
  success: { event: aStopRequest(TASK_ID, API_KEY), answers: { UpdateItem: dynamoDbAnswer.updated(stoppedItem) } },
  terminal: {
    event: aStopRequest(TASK_ID, API_KEY),
    answers: {
      UpdateItem: dynamoDbAnswer.conditionFailed(
        storedExecution({ status: "completed", finished_at: "2026-11-25T10:03:00.000Z" }),
      ),
    },
  },
  // An unknown key: misses are not cached, so every one costs its lookup.
  unauthorized: { event: aStopRequest(TASK_ID, "sk_bench_unknown_key"), answers: { GetItem: dynamoDbAnswer.item() } },
  forbidden: {
    event: aStopRequest(TASK_ID, API_KEY),
    answers: { UpdateItem: dynamoDbAnswer.conditionFailed(storedExecution({ organization_id: "org-someone-else" })) },
  },
  not_found: { event: aStopRequest(TASK_ID, API_KEY), answers: { UpdateItem: dynamoDbAnswer.conditionFailed() } },
  invalid_task_id: { event: aStopRequest("not-a-uuid", API_KEY), answers: {} },
  // A running task, as a caller polls it: one strongly consistent GetItem (the key is cached).
  get_task: {
    event: aGetRequest(TASK_ID, API_KEY),
    answers: {
      GetItemByTable: {
        [config.EXECUTIONS_TABLE_NAME]: dynamoDbAnswer.item(storedExecution({})),
        [config.API_KEYS_TABLE_NAME]: dynamoDbAnswer.item(keyItem),
      },
    },
    get: true,
  },
};

/**
 * A scenario's answers, plus the key's lookup where the scenario has no GetItem answer of its own: a container's
 * first call looks the key up, and so does the first call after the key cache's TTL (60 s, as deployed) ran out,
 * which a long run of the bench reaches.
 */
const withKey = (answers: DynamoDbAnswers): DynamoDbAnswers =>
  answers.GetItem || answers.GetItemByTable
    ? answers
    : { ...answers, GetItemByTable: { [config.API_KEYS_TABLE_NAME]: dynamoDbAnswer.item(keyItem) } };

function stubbedClients(transport: StubTransport) {
  const clientOptions = {
    ...awsClientOptions(config),
    region: hotPathEnvironment.AWS_REGION,
    requestHandler: transport,
  };
  const dynamoDb = createDynamoDbClient(clientOptions);
  const sqs = createSqsClient(clientOptions);
  return { dynamoDb, sqs, counter: countAwsCalls(dynamoDb, sqs) };
}

/**
 * The stop and get handlers as their composition roots build them, on clients whose transport is the stub (one set
 * of clients each, as each function has its own).
 */
function stubbedHandlers(transport: StubTransport) {
  const { dynamoDb, sqs, counter } = stubbedClients(transport);
  const stop = composeStopTask(config, { dynamoDb, sqs });
  const getClients = stubbedClients(transport);
  const get = composeGetTask(config, { dynamoDb: getClients.dynamoDb });
  // One context for every call, so the loop measures the handler alone; its remaining time stays put, as each
  // invocation's own context would in Lambda (a shared countdown would run out within the bench and trip middy's
  // timeout).
  const context = {
    ...aLambdaContext(),
    getRemainingTimeInMillis: () => functionDefinitions["stop-task"].timeoutSeconds * 1000,
  };
  return {
    counter,
    getCounter: getClients.counter,
    dynamoDb,
    sqs,
    getDynamoDb: getClients.dynamoDb,
    invoke: async (scenario: Scenario) =>
      (await (scenario.get ? get(scenario.event, context) : stop(scenario.event, context))) as APIGatewayProxyResult,
  };
}

export interface SuccessCalls {
  readonly updateItem: UpdateItemCommandInput;
  readonly sendMessage: SendMessageCommandInput;
}

/** Records the input of each command a client sends, by command name. */
function recordInputs(clients: readonly DynamoDBClient[]): Map<string, unknown> {
  const sent = new Map<string, unknown>();
  for (const client of clients) {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        sent.set(String(context.commandName), args.input);
        return next(args);
      },
      { step: "initialize", name: "benchRecorder" },
    );
  }
  return sent;
}

/** The very UpdateItem and SendMessage the handler sends for a successful stop, recorded from one over the stub. */
export async function recordSuccessCalls(): Promise<SuccessCalls> {
  const transport = new StubTransport();
  transport.answers = withKey(scenarios.success.answers);
  const recorder = stubbedHandlers(transport);
  const sent = recordInputs([recorder.dynamoDb, recorder.sqs as unknown as DynamoDBClient]);
  const { statusCode } = await recorder.invoke(scenarios.success);
  const updateItem = sent.get("UpdateItemCommand") as UpdateItemCommandInput | undefined;
  const sendMessage = sent.get("SendMessageCommand") as SendMessageCommandInput | undefined;
  if (statusCode !== 200 || !updateItem || !sendMessage)
    throw new Error(`the success path did not send its two calls (${statusCode})`);
  return { updateItem, sendMessage };
}

/** The GetItem Get Task sends for the bench's task (its key already cached), recorded from one over the stub. */
async function recordGetTaskCall(): Promise<GetItemCommandInput> {
  const transport = new StubTransport();
  transport.answers = withKey(scenarios.get_task.answers);
  const recorder = stubbedHandlers(transport);
  // Before the first call: with cacheMiddleware the client's stack is resolved once.
  const sent = recordInputs([recorder.getDynamoDb]);
  await recorder.invoke(scenarios.get_task); // Caches the key; the next call's GetItem is the task's.
  const { statusCode } = await recorder.invoke(scenarios.get_task);
  const getItem = sent.get("GetItemCommand") as GetItemCommandInput | undefined;
  if (statusCode !== 200 || !getItem) throw new Error(`Get Task did not send its GetItem (${statusCode})`);
  return getItem;
}

/**
 * What the SDK alone costs for each judged path's calls: the handler's own requests, replayed on clients configured
 * alike (the success path's UpdateItem and SendMessage; Get Task's GetItem).
 */
async function sdkBaselines(transport: StubTransport): Promise<Record<JudgedPath, () => Promise<void>>> {
  const { updateItem, sendMessage } = await recordSuccessCalls();
  const getItem = await recordGetTaskCall();
  const { dynamoDb, sqs } = stubbedClients(transport); // The handler's clients carry the call counter too.
  return {
    success: async () => {
      await dynamoDb.send(new UpdateItemCommand(updateItem));
      await sqs.send(new SendMessageCommand(sendMessage));
    },
    get_task: async () => {
      await dynamoDb.send(new GetItemCommand(getItem));
    },
  };
}

const baselineNames: Record<JudgedPath, string> = {
  success: "UpdateItem + SendMessage",
  get_task: "GetItem",
};

class Timer {
  readonly samplesUs: number[] = [];
  private cpuUs = 0;

  /** Times `count` calls; returns this block's median, 10th percentile and CPU per call. */
  async run(count: number, call: () => Promise<unknown>): Promise<{ medianUs: number; p10Us: number; cpuUs: number }> {
    const from = this.samplesUs.length;
    const cpuBefore = process.cpuUsage();
    for (let index = 0; index < count; index++) {
      const started = process.hrtime.bigint();
      await call();
      this.samplesUs.push(Number(process.hrtime.bigint() - started) / 1000);
    }
    const cpu = process.cpuUsage(cpuBefore);
    this.cpuUs += cpu.user + cpu.system;
    const block = this.samplesUs.slice(from);
    return { medianUs: median(block), p10Us: percentile(block, 0.1), cpuUs: (cpu.user + cpu.system) / count };
  }

  summary(): TimingSummary {
    return {
      medianUs: round(median(this.samplesUs)),
      p99Us: round(percentile(this.samplesUs, 0.99)),
      cpuUs: round(this.cpuUs / this.samplesUs.length),
    };
  }
}

/**
 * A handler path against its bare SDK reference, in neighbouring blocks (ABBA), repeated until the median of the
 * repetitions' ratios is known to within TARGET_SPREAD (or MAX_REPETITIONS is reached).
 */
async function interleaved(
  handlerCall: () => Promise<unknown>,
  baselineCall: () => Promise<unknown>,
  handlerTimer: Timer,
  baselineName: string,
): Promise<InterleavedRatio> {
  const baselineTimer = new Timer();
  const repetitions: number[] = [];
  const fastRepetitions: number[] = [];
  const settled = () => {
    if (repetitions.length < MIN_REPETITIONS) return false;
    const { low, high } = medianInterval(repetitions);
    return high - low < TARGET_SPREAD;
  };
  while (!settled() && repetitions.length < MAX_REPETITIONS) {
    const pairRatios: number[] = [];
    const pairFastRatios: number[] = [];
    for (let done = 0, block = 0; done < REPETITION_CALLS; done += BLOCK, block++) {
      const size = Math.min(BLOCK, REPETITION_CALLS - done);
      // ABBA: neither side always runs right after the other.
      const handlerFirst = block % 2 === 0;
      const a = await (handlerFirst ? handlerTimer : baselineTimer).run(
        size,
        handlerFirst ? handlerCall : baselineCall,
      );
      const b = await (handlerFirst ? baselineTimer : handlerTimer).run(
        size,
        handlerFirst ? baselineCall : handlerCall,
      );
      const [handlerBlock, baselineBlock] = handlerFirst ? [a, b] : [b, a];
      pairRatios.push(handlerBlock.medianUs / baselineBlock.medianUs);
      pairFastRatios.push(handlerBlock.p10Us / baselineBlock.p10Us);
    }
    repetitions.push(round(median(pairRatios), 3));
    fastRepetitions.push(round(median(pairFastRatios), 3));
  }
  const { low, high } = medianInterval(repetitions);
  return {
    ratio: round(median(repetitions), 3),
    repetitions,
    low,
    high,
    fastRepetitions,
    baseline: baselineTimer.summary(),
    baselineCalls: baselineName,
  };
}

export async function measureHotPath(
  calls = HOT_PATH_CALLS,
  only: readonly HotPath[] = hotPaths,
): Promise<HotPathResults> {
  const transport = new StubTransport();
  const handlers = stubbedHandlers(transport);
  const baselines = await sdkBaselines(transport);

  // Warm the key cache (a success is the first call a warm container serves) and the JIT.
  for (const path of only) {
    transport.answers = withKey(scenarios[path].answers);
    for (let index = 0; index < WARM_UP_CALLS; index++) await handlers.invoke(scenarios[path]);
  }
  for (const path of ["success", "get_task"] as const) {
    transport.answers = withKey(scenarios[path].answers);
    for (let index = 0; index < WARM_UP_CALLS; index++) await baselines[path]();
  }

  const paths = {} as HotPathResults["paths"];
  const judged = {} as HotPathResults["judged"];
  for (const path of only) {
    const scenario = scenarios[path];
    transport.answers = withKey(scenario.answers);
    const counter = scenario.get ? handlers.getCounter : handlers.counter;
    counter.reset();
    const { statusCode } = await handlers.invoke(scenario);
    const awsCalls = [...counter.calls];

    const timer = new Timer();
    if (path === "success" || path === "get_task") {
      judged[path] = await interleaved(() => handlers.invoke(scenario), baselines[path], timer, baselineNames[path]);
    } else {
      for (let done = 0; done < calls; done += BLOCK)
        await timer.run(Math.min(BLOCK, calls - done), () => handlers.invoke(scenario));
    }
    paths[path] = { status: statusCode, awsCalls, ...timer.summary() };
  }

  // A container's first request: the key is not cached yet.
  const cold = stubbedHandlers(transport);
  transport.answers = withKey(scenarios.success.answers);
  const { statusCode } = await cold.invoke(scenarios.success);

  return {
    calls,
    judged,
    paths,
    successColdKeyCache: { status: statusCode, awsCalls: [...cold.counter.calls] },
  };
}

/** `--profile PATH CALLS`: only that path, warmed up, then CALLS calls, for bench/profile.ts to profile. */
async function runForProfile(path: HotPath, calls: number): Promise<void> {
  const transport = new StubTransport();
  const handlers = stubbedHandlers(transport);
  transport.answers = withKey(scenarios[path].answers);
  for (let index = 0; index < WARM_UP_CALLS; index++) await handlers.invoke(scenarios[path]);
  for (let index = 0; index < calls; index++) await handlers.invoke(scenarios[path]);
}

if (process.send && process.argv[2] === "--child") {
  const results = await measureHotPath(Number(process.argv[3] ?? HOT_PATH_CALLS));
  process.send(results, undefined, {}, () => process.exit(0));
} else if (process.argv[2] === "--profile") {
  await runForProfile((process.argv[3] ?? "success") as HotPath, Number(process.argv[4] ?? 20_000));
}
