/**
 * Hot path CPU and AWS calls per request of the stop handler. bench/run.ts bundles this file like
 * a function and runs it in a process of its own: the handler logs and emits metrics for real, as
 * in Lambda, so that process's stdout is discarded, and the results come back over IPC.
 */
import { type DynamoDBClient, UpdateItemCommand, type UpdateItemCommandInput } from "@aws-sdk/client-dynamodb";
import { SendMessageCommand, type SendMessageCommandInput } from "@aws-sdk/client-sqs";
import { marshall } from "@aws-sdk/util-dynamodb";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import { composeStopTask } from "../functions/stop-task/compose.js";
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
 * The success path and the SDK baseline alternate in small blocks (handler then SDK, then SDK then
 * handler, and so on), and each pair of neighbouring blocks gives a ratio of medians: whatever
 * slows the machine for a moment (GC, JIT, other work on the machine) slows both sides of a pair
 * alike. The calls are split into repetitions; a repetition's ratio is the median of its pairs',
 * and the figure is the median of the repetitions', with their spread. One ratio over blocks of
 * 1,000 read 1.37-1.43x on a quiet machine and 1.5-1.7x on a busy one.
 */
const BLOCK = 100;
export const HOT_PATH_REPETITIONS = 7;

export const hotPaths = ["success", "terminal", "unauthorized", "forbidden", "not_found", "invalid_task_id"] as const;
export type HotPath = (typeof hotPaths)[number];

export interface TimingSummary {
  readonly medianUs: number;
  readonly p99Us: number;
  /** Process CPU (user + system) over the timed calls, per call. */
  readonly cpuUs: number;
}

export interface HotPathResults {
  readonly calls: number;
  /** The success path's median over the bare SDK's, one per repetition, in order. */
  readonly successRatios: readonly number[];
  /** The same pairs' ratio of their 10th percentiles (the calls least touched by anything else), one per repetition. */
  readonly successFastRatios: readonly number[];
  readonly paths: Record<HotPath, TimingSummary & { readonly status: number; readonly awsCalls: readonly string[] }>;
  /** The SDK alone: one UpdateItem and one SendMessage through the same transport. */
  readonly sdkBaseline: TimingSummary;
  readonly successColdKeyCache: { readonly status: number; readonly awsCalls: readonly string[] };
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

const scenarios: Record<HotPath, { readonly event: APIGatewayProxyEvent; readonly answers: DynamoDbAnswers }> = {
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
};

/** The stop handler as the composition root builds it, on clients whose transport is the stub. */
function stubbedStopHandler(transport: StubTransport) {
  const clientOptions = {
    ...awsClientOptions(config),
    region: hotPathEnvironment.AWS_REGION,
    requestHandler: transport,
  };
  const dynamoDb = createDynamoDbClient(clientOptions);
  const sqs = createSqsClient(clientOptions);
  const counter = countAwsCalls(dynamoDb, sqs);
  const handler = composeStopTask(config, { dynamoDb, sqs });
  // One context for every call, so the loop measures the handler alone; its remaining time stays put, as each
  // invocation's own context would in Lambda (a shared countdown would run out within the bench and trip middy's
  // timeout).
  const context = {
    ...aLambdaContext(),
    getRemainingTimeInMillis: () => functionDefinitions["stop-task"].timeoutSeconds * 1000,
  };
  return {
    counter,
    dynamoDb,
    sqs,
    invoke: async (event: APIGatewayProxyEvent) => (await handler(event, context)) as APIGatewayProxyResult,
  };
}

export interface SuccessCalls {
  readonly updateItem: UpdateItemCommandInput;
  readonly sendMessage: SendMessageCommandInput;
}

/** The very UpdateItem and SendMessage the handler sends for a successful stop, recorded from one over the stub. */
export async function recordSuccessCalls(): Promise<SuccessCalls> {
  const transport = new StubTransport();
  transport.answers = { GetItem: dynamoDbAnswer.item(keyItem), ...scenarios.success.answers };
  const sent = new Map<string, unknown>();
  const recorder = stubbedStopHandler(transport);
  for (const client of [recorder.dynamoDb, recorder.sqs]) {
    (client as DynamoDBClient).middlewareStack.add(
      (next, context) => async (args) => {
        sent.set(String(context.commandName), args.input);
        return next(args);
      },
      { step: "initialize", name: "benchRecorder" },
    );
  }
  const { statusCode } = await recorder.invoke(scenarios.success.event);
  const updateItem = sent.get("UpdateItemCommand") as UpdateItemCommandInput | undefined;
  const sendMessage = sent.get("SendMessageCommand") as SendMessageCommandInput | undefined;
  if (statusCode !== 200 || !updateItem || !sendMessage)
    throw new Error(`the success path did not send its two calls (${statusCode})`);
  return { updateItem, sendMessage };
}

/**
 * What the SDK alone costs for the success path's two calls: the handler's own requests, replayed on clients configured
 * alike.
 */
async function sdkBaseline(transport: StubTransport) {
  const { updateItem, sendMessage } = await recordSuccessCalls();
  const clientOptions = {
    ...awsClientOptions(config),
    region: hotPathEnvironment.AWS_REGION,
    requestHandler: transport,
  };
  const dynamoDb = createDynamoDbClient(clientOptions);
  const sqs = createSqsClient(clientOptions);
  countAwsCalls(dynamoDb, sqs); // The handler's clients carry the counter too.
  return async () => {
    await dynamoDb.send(new UpdateItemCommand(updateItem));
    await sqs.send(new SendMessageCommand(sendMessage));
  };
}

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

export async function measureHotPath(
  calls = HOT_PATH_CALLS,
  only: readonly HotPath[] = hotPaths,
): Promise<HotPathResults> {
  const transport = new StubTransport();
  const stop = stubbedStopHandler(transport);
  const baseline = await sdkBaseline(transport);

  // Warm the key cache (a success is the first call a warm container serves) and the JIT.
  transport.answers = { GetItem: dynamoDbAnswer.item(keyItem), ...scenarios.success.answers };
  await stop.invoke(scenarios.success.event);
  for (const path of only) {
    transport.answers = { GetItem: dynamoDbAnswer.item(keyItem), ...scenarios[path].answers };
    for (let index = 0; index < WARM_UP_CALLS; index++) await stop.invoke(scenarios[path].event);
  }
  transport.answers = scenarios.success.answers;
  for (let index = 0; index < WARM_UP_CALLS; index++) await baseline();

  const paths = {} as HotPathResults["paths"];
  const baselineTimer = new Timer();
  const successRatios: number[] = [];
  const successFastRatios: number[] = [];
  for (const path of only) {
    const { event, answers } = scenarios[path];
    transport.answers = answers;
    stop.counter.reset();
    const { statusCode } = await stop.invoke(event);
    const awsCalls = [...stop.counter.calls];

    const timer = new Timer();
    if (path === "success") {
      const perRepetition = Math.ceil(calls / HOT_PATH_REPETITIONS);
      for (let repetition = 0; repetition < HOT_PATH_REPETITIONS; repetition++) {
        const pairRatios: number[] = [];
        const pairFastRatios: number[] = [];
        for (let done = 0, block = 0; done < perRepetition; done += BLOCK, block++) {
          const size = Math.min(BLOCK, perRepetition - done);
          // ABBA: neither side always runs right after the other.
          const first =
            block % 2 === 0 ? () => timer.run(size, () => stop.invoke(event)) : () => baselineTimer.run(size, baseline);
          const second =
            block % 2 === 0 ? () => baselineTimer.run(size, baseline) : () => timer.run(size, () => stop.invoke(event));
          const [a, b] = [await first(), await second()];
          const [handlerBlock, baselineBlock] = block % 2 === 0 ? [a, b] : [b, a];
          pairRatios.push(handlerBlock.medianUs / baselineBlock.medianUs);
          pairFastRatios.push(handlerBlock.p10Us / baselineBlock.p10Us);
        }
        successRatios.push(round(median(pairRatios), 3));
        successFastRatios.push(round(median(pairFastRatios), 3));
      }
    } else {
      for (let done = 0; done < calls; done += BLOCK)
        await timer.run(Math.min(BLOCK, calls - done), () => stop.invoke(event));
    }
    paths[path] = { status: statusCode, awsCalls, ...timer.summary() };
  }

  // A container's first request: the key is not cached yet.
  const cold = stubbedStopHandler(transport);
  transport.answers = { GetItem: dynamoDbAnswer.item(keyItem), ...scenarios.success.answers };
  const { statusCode } = await cold.invoke(scenarios.success.event);

  return {
    calls,
    successRatios,
    successFastRatios,
    paths,
    sdkBaseline: baselineTimer.summary(),
    successColdKeyCache: { status: statusCode, awsCalls: [...cold.counter.calls] },
  };
}

if (process.send && process.argv[2] === "--child") {
  const results = await measureHotPath(Number(process.argv[3] ?? HOT_PATH_CALLS));
  process.send(results, undefined, {}, () => process.exit(0));
}
