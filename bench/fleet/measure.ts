/**
 * `npm run bench -- --only fleet`: stop-to-abort in a fleet of N workers, for the design in use
 * (a queue per worker, docs/stop-delivery.md) and the shared queue it replaced, as reference.
 *
 * On the local stack (`npm start`: DynamoDB Local + fauxqs), N reference workers run in this
 * process (lib/worker/reference-worker.ts: its own queue, long polls, heartbeats every 5 s, the
 * real acknowledgement), each running tasks that wait to be stopped. Stops go over HTTP at a
 * steady rate to the real stop handler, served by the local server in a process of its own
 * (bench/fleet/stop-server.ts). A stop's time is from just before its HTTP request to the moment
 * its task's AbortSignal fires in the worker, both on this process's clock.
 */
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { Agent } from "node:http";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { DeleteTopicCommand, SNSClient } from "@aws-sdk/client-sns";
import { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { DEMO_ORGANIZATION, demoSeed } from "../../infra/local/demo-data.js";
import { LOCAL_CREDENTIALS, LOCAL_REGION } from "../../infra/local/emulators.js";
import { ownerQueueSettings } from "../../infra/local/provision.js";
import { loadSeed, seedFileSchema } from "../../infra/local/seed.js";
import type { StackFile } from "../../infra/local/stack-file.js";
import { createDynamoDbClient } from "../../lib/aws/clients.js";
import { formatTimestamp } from "../../lib/timestamp.js";
import { dynamoWorkerExecutionUpdates } from "../../lib/worker/execution-updates.js";
import { createReferenceWorker, type ReferenceWorker } from "../../lib/worker/reference-worker.js";
import { startLocalStack } from "../../test/support/local-stack-process.js";
import { seededRandom } from "../seeded-random.js";
import { median, percentile, round } from "../stats.js";
import {
  type FleetDesign,
  fleetSqsClient,
  HEARTBEAT_INTERVAL_MS,
  LONG_POLL_SECONDS,
  post,
  queueDepth,
  SEED_SLICE,
  sleep,
  startStopServer,
} from "./harness.js";
import { type KitFleetCounts, measurePythonStep } from "./python-fleet.js";
import { createSharedQueue, SHARED_QUEUE_RECEIVES_BEFORE_DEAD_LETTER, sharedQueueConsumer } from "./shared-queue.js";
import { createStopTopic, subscribeWorkerQueue } from "./sns-filter.js";

export type { FleetDesign } from "./harness.js";

export interface FleetStep {
  readonly design: FleetDesign;
  readonly workers: number;
  readonly stops: number;
  readonly stopsPerSecond: number;
}

export interface FleetRun extends FleetStep {
  /** Stops the API answered 200. */
  readonly answered: number;
  /** From the request to the API's answer: the stop function's own part of the stop-to-abort time. */
  readonly answerP50Ms: number;
  readonly answerP99Ms: number;
  /** Tasks aborted by their stop message, and by a heartbeat that saw the stop instead. */
  readonly abortedByMessage: number;
  readonly abortedByHeartbeat: number;
  readonly notAborted: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Messages in the DLQ once every queue has drained. */
  readonly deadLettered: number;
  /** Times any worker received a stop message (a release and a re-receive count again), per stop. */
  readonly receivesPerStop: number;
  /** The stop function's AWS calls over the run, per stop, and which. */
  readonly stopFunctionCallsPerStop: number;
  readonly stopFunctionCalls: Record<string, number>;
  /** p50 and p99 of each AWS call the stop function made, as it waited for them. */
  readonly stopFunctionCallMs: Record<string, { readonly p50: number; readonly p99: number }>;
  readonly seconds: number;
  /** Python workers of the kit only: how they are hosted, and the counts their row is judged on. */
  readonly kit?: KitFleetCounts;
}

async function measureStep(stack: StackFile, stackFile: string, step: FleetStep): Promise<FleetRun> {
  const runId = randomUUID().slice(0, 6);
  const { sqs, receipts } = fleetSqsClient(stack);
  const clientOptions = {
    region: stack.region,
    endpoint: stack.dynamodb_endpoint,
    requestTimeoutMs: 10_000,
    connectionTimeoutMs: 5_000,
    maxAttempts: 3,
  };
  const dynamoDb = createDynamoDbClient({
    ...clientOptions,
    requestHandler: {
      httpAgent: new Agent({ keepAlive: true, maxSockets: 256 }),
      requestTimeout: 10_000,
      connectionTimeout: 5_000,
    },
  });

  // A fresh DLQ per run, so what it holds afterwards is this run's; for the old design its shared queue too.
  const shared = step.design === "shared" ? await createSharedQueue(sqs, `local-bench-shared-${runId}`) : undefined;
  const deadLetterUrl =
    shared?.deadLetterUrl ??
    (await sqs.send(new CreateQueueCommand({ QueueName: `local-bench-dlq-${runId}` }))).QueueUrl ??
    "";
  const { Attributes: dlqAttributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: deadLetterUrl, AttributeNames: ["QueueArn"] }),
  );
  const signalQueue = {
    ...ownerQueueSettings(stack.signal_channels.workers),
    deadLetterQueueArn: dlqAttributes?.QueueArn ?? "",
  };

  const workerIds = Array.from({ length: step.workers }, (_, index) => `bench-${runId}-${index}`);
  const workers: ReferenceWorker[] = workerIds.map((workerId) =>
    createReferenceWorker({
      workerId,
      sqs,
      signalQueue,
      updates: dynamoWorkerExecutionUpdates(dynamoDb, stack.tables.executions),
      heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
      pollWaitSeconds: LONG_POLL_SECONDS,
    }),
  );
  // Each worker makes its own queue before it takes tasks, as lib/worker does at start (with SNS, and subscribes it).
  const sns = step.design === "sns" ? new SNSClient({ region: stack.region, endpoint: stack.sqs_endpoint }) : undefined;
  const topicArn = sns ? await createStopTopic(sns, `local-bench-stops-${runId}`) : undefined;
  if (step.design !== "shared") {
    for (let start = 0; start < workers.length; start += 50) {
      await Promise.all(
        workers.slice(start, start + 50).map(async (worker, offset) => {
          const queueUrl = await worker.openQueue();
          if (sns && topicArn)
            await subscribeWorkerQueue(sns, sqs, topicArn, queueUrl, workerIds[start + offset] ?? "");
        }),
      );
    }
  }

  // Every worker runs the same number of tasks; the stops go round the workers, so each is stopped about as often.
  const tasksPerWorker = Math.ceil(step.stops / step.workers);
  const startedAt = formatTimestamp(new Date());
  const tasks = workerIds.flatMap((workerId, workerIndex) =>
    Array.from({ length: tasksPerWorker }, (_, taskIndex) => ({
      id: randomUUID(),
      workerIndex,
      order: taskIndex * step.workers + workerIndex,
      workerId,
    })),
  );
  const seed = seedFileSchema.parse({
    executions: tasks.map((task) => ({
      id: task.id,
      organization_id: DEMO_ORGANIZATION,
      agent_id: "agent-fleet-bench",
      status: "executing",
      created_at: startedAt,
      started_at: startedAt,
      worker_id: task.workerId,
      input: { text: "a task that runs until it is stopped", files: [] },
    })),
  });
  for (let start = 0; start < seed.executions.length; start += SEED_SLICE) {
    await loadSeed(
      { api_keys: [], executions: seed.executions.slice(start, start + SEED_SLICE) },
      { dynamoDb, executionsTable: stack.tables.executions, apiKeysTable: stack.tables.api_keys },
    );
  }

  // A real fleet's tasks start, and its workers poll, at any moment: spread over one heartbeat
  // interval, so that neither the heartbeats nor the 20 s long polls arrive at the emulators as one wave.
  const random = seededRandom(step.workers * 7919 + step.stops);
  const aborted = new Map<string, { at: number; byHeartbeat: boolean }>();
  const releases = new Map<string, () => void>();
  const runs = tasks.map(async (task) => {
    await sleep(random() * HEARTBEAT_INTERVAL_MS);
    return workers[task.workerIndex]?.run(
      task.id,
      (signal) =>
        new Promise<string>((resolve, reject) => {
          signal.addEventListener(
            "abort",
            () => {
              aborted.set(task.id, {
                at: performance.now(),
                byHeartbeat: String((signal.reason as Error | undefined)?.message).includes("heartbeat"),
              });
              reject(signal.reason);
            },
            { once: true },
          );
          releases.set(task.id, () => resolve("released"));
        }),
    );
  });

  const consumers =
    step.design === "shared" && shared
      ? workers.map((worker) => sharedQueueConsumer(worker, sqs, shared.url, LONG_POLL_SECONDS))
      : workers.map((worker) => ({
          startPolling: () => worker.startPolling(),
          stopPolling: () => worker.stopPolling(),
        }));
  const polling = consumers.map(async (consumer) => {
    await sleep(random() * HEARTBEAT_INTERVAL_MS);
    return consumer.startPolling();
  });

  const server = await startStopServer(stackFile, step.design, { sharedQueueUrl: shared?.url, topicArn });
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  // The first stop of a container looks its key up; connections open. Neither is the fleet's cost.
  await post(agent, `${server.url}/v1/tasks/${randomUUID()}/stop`);
  // Every task running and every worker polling before the first stop.
  await sleep(HEARTBEAT_INTERVAL_MS + 1_000);
  await server.reset();
  const receiptsBefore = { ...receipts };

  // Stops spread evenly over the workers, in an order that has nothing to do with when each polled
  // (fauxqs wakes its long polls in arrival order: stops in worker order would reach the old shared
  // queue's waiters exactly in turn, each first received by its own worker).
  const targets = [...tasks].sort((a, b) => a.order - b.order).slice(0, step.stops);
  for (let index = targets.length - 1; index > 0; index -= 1) {
    const other = Math.floor(random() * (index + 1));
    [targets[index], targets[other]] = [
      targets[other] as (typeof targets)[number],
      targets[index] as (typeof targets)[number],
    ];
  }
  const sentAt = new Map<string, number>();
  const answeredAfter: number[] = [];
  const statuses: number[] = [];
  const began = performance.now();
  await Promise.all(
    targets.map(async (task, index) => {
      await sleep(Math.max(0, began + (index * 1000) / step.stopsPerSecond - performance.now()));
      const sent = performance.now();
      sentAt.set(task.id, sent);
      statuses.push(await post(agent, `${server.url}/v1/tasks/${task.id}/stop`).catch(() => 0));
      answeredAfter.push(performance.now() - sent);
    }),
  );
  // Every stopped task halts by its message, or at the latest by its next heartbeat.
  const deadline = performance.now() + 2 * HEARTBEAT_INTERVAL_MS + 5_000;
  while (targets.some((task) => !aborted.has(task.id)) && performance.now() < deadline) await sleep(50);
  const seconds = (performance.now() - began) / 1000;
  const calls = await server.calls();

  // What is left on the queues either reaches its worker or its DLQ before the count.
  const queues = shared ? [shared.url] : await Promise.all(workers.map((worker) => worker.openQueue()));
  const drainDeadline = performance.now() + 15_000;
  for (;;) {
    const depths = await Promise.all(queues.map((url) => queueDepth(sqs, url)));
    if (depths.every((depth) => depth === 0) || performance.now() > drainDeadline) break;
    await sleep(200);
  }
  const deadLettered = await queueDepth(sqs, deadLetterUrl);
  const receivesPerStop = (receipts.messages - receiptsBefore.messages) / step.stops;

  for (const consumer of consumers) consumer.stopPolling();
  for (const release of releases.values()) release();
  await Promise.allSettled(runs);
  server.stop();
  if (sns && topicArn) await sns.send(new DeleteTopicCommand({ TopicArn: topicArn })).catch(() => undefined);
  sns?.destroy();
  agent.destroy();
  sqs.destroy();
  const { sqs: admin } = fleetSqsClient(stack);
  for (const batch of [
    ...Array.from({ length: Math.ceil(queues.length / 50) }, (_, index) => queues.slice(index * 50, index * 50 + 50)),
    [deadLetterUrl],
  ]) {
    await Promise.allSettled(batch.map((url) => admin.send(new DeleteQueueCommand({ QueueUrl: url }))));
  }
  await Promise.allSettled(polling);
  admin.destroy();
  dynamoDb.destroy();

  const latencies = targets.flatMap((task) => {
    const abort = aborted.get(task.id);
    const sent = sentAt.get(task.id);
    return abort && sent !== undefined ? [abort.at - sent] : [];
  });
  const byHeartbeat = targets.filter((task) => aborted.get(task.id)?.byHeartbeat).length;
  const callCounts: Record<string, number> = {};
  for (const call of calls.names)
    callCounts[call.replace("Command", "")] = (callCounts[call.replace("Command", "")] ?? 0) + 1;
  return {
    ...step,
    answered: statuses.filter((status) => status === 200).length,
    answerP50Ms: round(median(answeredAfter)),
    answerP99Ms: round(percentile(answeredAfter, 0.99)),
    abortedByMessage: latencies.length - byHeartbeat,
    abortedByHeartbeat: byHeartbeat,
    notAborted: step.stops - latencies.length,
    p50Ms: round(median(latencies)),
    p99Ms: round(percentile(latencies, 0.99)),
    maxMs: round(Math.max(...latencies)),
    deadLettered,
    receivesPerStop: round(receivesPerStop, 2),
    stopFunctionCallsPerStop: round(calls.names.length / step.stops, 2),
    stopFunctionCalls: callCounts,
    stopFunctionCallMs: Object.fromEntries(
      Object.entries(calls.ms).map(([name, samples]) => [
        name,
        { p50: round(median(samples)), p99: round(percentile(samples, 0.99)) },
      ]),
    ),
    seconds: round(seconds, 1),
  };
}

/** The Python workers' run as a row of the fleet table. */
async function pythonRun(stack: StackFile, stackFile: string, step: FleetStep): Promise<FleetRun> {
  const parts = await measurePythonStep(stack, stackFile, step);
  const callCounts: Record<string, number> = {};
  for (const call of parts.calls.names)
    callCounts[call.replace("Command", "")] = (callCounts[call.replace("Command", "")] ?? 0) + 1;
  return {
    ...step,
    answered: parts.answered,
    answerP50Ms: round(median([...parts.answeredAfter])),
    answerP99Ms: round(percentile([...parts.answeredAfter], 0.99)),
    abortedByMessage: parts.latencies.length - parts.byHeartbeat,
    abortedByHeartbeat: parts.byHeartbeat,
    notAborted: step.stops - parts.latencies.length,
    p50Ms: round(median([...parts.latencies])),
    p99Ms: round(percentile([...parts.latencies], 0.99)),
    maxMs: round(Math.max(...parts.latencies)),
    deadLettered: parts.deadLettered,
    receivesPerStop: parts.receivesPerStop,
    stopFunctionCallsPerStop: round(parts.calls.names.length / step.stops, 2),
    stopFunctionCalls: callCounts,
    stopFunctionCallMs: Object.fromEntries(
      Object.entries(parts.calls.ms).map(([name, samples]) => [
        name,
        { p50: round(median(samples)), p99: round(percentile(samples, 0.99)) },
      ]),
    ),
    seconds: parts.seconds,
    kit: parts.kit,
  };
}

export interface FleetResults {
  readonly startupMs: number;
  /** The old design's redrive threshold, for the table's caption. */
  readonly sharedQueueMaxReceives: number;
  readonly heartbeatIntervalMs: number;
  readonly runs: readonly FleetRun[];
}

/**
 * Runs the steps in order (each design in turn per fleet size, so both meet the same machine state) on one local stack.
 */
export async function measureFleet(
  workDirectory: string,
  steps: readonly FleetStep[],
  onRun?: (run: FleetRun) => void,
): Promise<FleetResults> {
  const seedFile = join(workDirectory, "fleet-seed.json");
  writeFileSync(seedFile, JSON.stringify({ ...demoSeed(), executions: [] }));
  const bootStarted = performance.now();
  // No periodic cleanup: only the workers, their heartbeats and the stops act during a run.
  const local = await startLocalStack(seedFile, { timeoutMs: 90_000, env: { CLEANUP_INTERVAL_SECONDS: "0" } });
  const startupMs = performance.now() - bootStarted;
  process.env.AWS_ACCESS_KEY_ID = LOCAL_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = LOCAL_CREDENTIALS.secretAccessKey;
  process.env.AWS_REGION ??= LOCAL_REGION;
  try {
    const runs: FleetRun[] = [];
    for (const step of steps) {
      const run =
        step.design === "python"
          ? await pythonRun(local.stack, local.stackFile, step)
          : await measureStep(local.stack, local.stackFile, step);
      runs.push(run);
      onRun?.(run);
    }
    return {
      startupMs: Math.round(startupMs),
      sharedQueueMaxReceives: SHARED_QUEUE_RECEIVES_BEFORE_DEAD_LETTER,
      heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
      runs,
    };
  } finally {
    await local.stop();
  }
}
