/**
 * The fleet bench's row for Python workers of the kit (workers/python/stop_task_worker): N
 * `ReferenceWorker`s, each as the kit ships it (its own boto3 clients and queue, its own long-poll
 * thread, a heartbeat thread per task, the real acknowledgement), hosted `PYTHON_WORKERS_PER_PROCESS`
 * to a Python process (bench/fleet/python_fleet.py) since N interpreters would not fit on a small
 * machine. Stops go over HTTP at a steady rate to the real stop handler (bench/fleet/stop-server.ts,
 * the design in use: a queue per worker), as for the TypeScript workers.
 *
 * A stop's time runs from just before its HTTP request to the moment its task's body lets go in
 * the Python process (the asyncio task's CancelledError, or the thread's event): two processes, so
 * both ends are wall-clock epoch milliseconds (`performance.timeOrigin + performance.now()` here,
 * `time.time()` there).
 *
 * Beside the time it counts what the issue's targets name: dead-lettered (a fresh DLQ, once every
 * queue has drained), re-sent (the records' `signal_attempts`, plus what the cleanup's re-drive
 * sends when run with its clock past the acknowledgement timeout), flagged
 * (`signal_delivery_failed_at`) and acknowledged (`stop_acknowledged_at` on each stopped record).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { Agent } from "node:http";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { composeStopTask } from "../../functions/stop-task/compose.js";
import { DEMO_ORGANIZATION } from "../../infra/local/demo-data.js";
import { pointFunctionsAt, useLocalProcessDefaults } from "../../infra/local/functions.js";
import { createLocalCleanup, type InvokableHandler, inProcessStopInvoker } from "../../infra/local/local-cleanup.js";
import { loadSeed, seedFileSchema } from "../../infra/local/seed.js";
import type { StackFile } from "../../infra/local/stack-file.js";
import { createDynamoDbClient, createSqsClient } from "../../lib/aws/clients.js";
import { readCleanupConfig, readStopTaskConfig } from "../../lib/config.js";
import { formatTimestamp } from "../../lib/timestamp.js";
import { seededRandom } from "../seeded-random.js";
import { round } from "../stats.js";
import {
  fleetSqsClient,
  HEARTBEAT_INTERVAL_MS,
  LONG_POLL_SECONDS,
  post,
  queueDepth,
  SEED_SLICE,
  type StopServerCalls,
  sleep,
  startStopServer,
} from "./harness.js";
import type { FleetStep } from "./measure.js";

/** Workers a Python process hosts: 200 workers are 4 processes, each some 200 threads at 2 tasks a worker. */
export const PYTHON_WORKERS_PER_PROCESS = 50;

/** What a run of Python workers counts beside the times every design reports. */
export interface KitFleetCounts {
  readonly processes: number;
  readonly workersPerProcess: number;
  /** Halts of tasks run as asyncio tasks (cancelled) and as threads (their event set). */
  readonly asyncioHalts: number;
  readonly threadHalts: number;
  /** Signals sent again: the records' `signal_attempts`, and the cleanup's re-drive past the acknowledgement timeout. */
  readonly resent: number;
  readonly redrivenByCleanup: number;
  /** Stopped records carrying `signal_delivery_failed_at`, and what the cleanup's run flagged. */
  readonly flagged: number;
  /** Stopped records carrying `stop_acknowledged_at`. */
  readonly acknowledged: number;
}

export interface HostMessage {
  readonly event: "ready" | "running" | "halted" | "finished";
  readonly queues?: Record<string, string>;
  readonly task_id?: string;
  readonly at_ms?: number;
  readonly by?: "message" | "heartbeat" | "unknown";
  readonly kind?: "asyncio" | "thread";
  readonly received?: number;
  readonly ends?: Record<string, string>;
}

export interface Halt {
  readonly atMs: number;
  readonly by: string;
  readonly kind: string;
}

export interface PythonHost {
  readonly workerIds: readonly string[];
  /** The next message of this kind (the ones before it are kept by `onHalt`). */
  next(event: HostMessage["event"], timeoutMs: number): Promise<HostMessage>;
  send(command: Record<string, unknown>): void;
  kill(): void;
}

const epochNow = () => performance.timeOrigin + performance.now();

export interface PythonHostOptions {
  readonly stackFile: string;
  readonly deadLetterArn: string;
  readonly workerIds: readonly string[];
  /** Seeds the moments tasks start and polls begin (within one heartbeat interval). */
  readonly seed: number;
  readonly heartbeatSeconds?: number;
  readonly pollWaitSeconds?: number;
  readonly onHalt: (taskId: string, halt: Halt) => void;
}

/** One Python process hosting `workerIds`' workers (bench/fleet/python_fleet.py), driven over its line protocol. */
export function startPythonHost(options: PythonHostOptions): PythonHost {
  const { onHalt } = options;
  const child: ChildProcess = spawn(
    "python3",
    [
      "bench/fleet/python_fleet.py",
      "--stack-file",
      options.stackFile,
      "--dead-letter-arn",
      options.deadLetterArn,
      "--workers",
      options.workerIds.join(","),
      "--heartbeat-seconds",
      String(options.heartbeatSeconds ?? HEARTBEAT_INTERVAL_MS / 1000),
      "--poll-wait-seconds",
      String(options.pollWaitSeconds ?? LONG_POLL_SECONDS),
      "--seed",
      String(options.seed),
    ],
    {
      env: { ...process.env, PYTHONPATH: "workers/python", PYTHONDONTWRITEBYTECODE: "1", PYTHONUNBUFFERED: "1" },
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  const waiting = new Map<string, (message: HostMessage) => void>();
  const arrived = new Map<string, HostMessage>();
  let exited: string | undefined;
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
    const message = JSON.parse(line) as HostMessage;
    if (message.event === "halted" && message.task_id)
      onHalt(message.task_id, {
        atMs: message.at_ms ?? Number.NaN,
        by: message.by ?? "unknown",
        kind: message.kind ?? "",
      });
    const resolve = waiting.get(message.event);
    if (resolve) {
      waiting.delete(message.event);
      resolve(message);
    } else arrived.set(message.event, message);
  });
  child.once("exit", (code) => {
    exited = `the Python fleet host exited (${code})`;
  });
  return {
    workerIds: options.workerIds,
    next: (event, timeoutMs) => {
      const early = arrived.get(event);
      if (early) {
        arrived.delete(event);
        return Promise.resolve(early);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(exited ?? `the Python fleet host sent no "${event}" in ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiting.set(event, (message) => {
          clearTimeout(timer);
          resolve(message);
        });
      });
    },
    send: (command) => child.stdin?.write(`${JSON.stringify(command)}\n`),
    kill: () => {
      if (child.exitCode === null) child.kill("SIGTERM");
    },
  };
}

export interface PythonFleetRunParts {
  readonly answered: number;
  readonly answeredAfter: readonly number[];
  readonly latencies: readonly number[];
  readonly byHeartbeat: number;
  readonly deadLettered: number;
  readonly receivesPerStop: number;
  readonly calls: StopServerCalls;
  readonly seconds: number;
  readonly kit: KitFleetCounts;
}

/** One run of `step.workers` Python workers; the caller turns its parts into the fleet table's row. */
export async function measurePythonStep(
  stack: StackFile,
  stackFile: string,
  step: FleetStep,
): Promise<PythonFleetRunParts> {
  const runId = randomUUID().slice(0, 6);
  const { sqs } = fleetSqsClient(stack);
  const dynamoDb = createDynamoDbClient({
    region: stack.region,
    endpoint: stack.dynamodb_endpoint,
    requestTimeoutMs: 10_000,
    connectionTimeoutMs: 5_000,
    maxAttempts: 3,
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 64 }) },
  });

  // A fresh DLQ per run, so what it holds afterwards is this run's.
  const deadLetterUrl =
    (await sqs.send(new CreateQueueCommand({ QueueName: `local-bench-dlq-py-${runId}` }))).QueueUrl ?? "";
  const { Attributes: dlqAttributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: deadLetterUrl, AttributeNames: ["QueueArn"] }),
  );

  const workerIds = Array.from({ length: step.workers }, (_, index) => `bench-py-${runId}-${index}`);
  const halts = new Map<string, Halt>();
  const hosts: PythonHost[] = [];
  for (let start = 0; start < workerIds.length; start += PYTHON_WORKERS_PER_PROCESS) {
    hosts.push(
      startPythonHost({
        stackFile,
        deadLetterArn: dlqAttributes?.QueueArn ?? "",
        workerIds: workerIds.slice(start, start + PYTHON_WORKERS_PER_PROCESS),
        seed: step.workers * 7919 + start,
        onHalt: (taskId, halt) => halts.set(taskId, halt),
      }),
    );
  }
  let server: Awaited<ReturnType<typeof startStopServer>> | undefined;
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const queues: string[] = [];
  try {
    // Each worker makes its own queue before it takes tasks, as the kit asks.
    for (const host of hosts) queues.push(...Object.values((await host.next("ready", 120_000)).queues ?? {}));

    const tasksPerWorker = Math.ceil(step.stops / step.workers);
    const startedAt = formatTimestamp(new Date());
    const tasks = workerIds.flatMap((workerId, workerIndex) =>
      Array.from({ length: tasksPerWorker }, (_, taskIndex) => ({
        id: randomUUID(),
        order: taskIndex * step.workers + workerIndex,
        workerId,
      })),
    );
    const seed = seedFileSchema.parse({
      executions: tasks.map((task) => ({
        id: task.id,
        organization_id: DEMO_ORGANIZATION,
        agent_id: "agent-fleet-bench-python",
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
    // Each host starts its tasks and its polls at moments spread over one heartbeat interval.
    for (const host of hosts) {
      const own = new Set(host.workerIds);
      const byWorker: Record<string, string[]> = {};
      for (const task of tasks.filter((entry) => own.has(entry.workerId)))
        byWorker[task.workerId] = [...(byWorker[task.workerId] ?? []), task.id];
      host.send({ command: "run", tasks: byWorker });
    }
    for (const host of hosts) await host.next("running", 30_000);

    server = await startStopServer(stackFile, "python", {});
    // The first stop of a container looks its key up; connections open. Neither is the fleet's cost.
    await post(agent, `${server.url}/v1/tasks/${randomUUID()}/stop`);
    // Every task running and every worker polling before the first stop.
    await sleep(HEARTBEAT_INTERVAL_MS + 1_000);
    await server.reset();

    // Stops spread evenly over the workers, in an order unrelated to when each began to poll.
    const targets = [...tasks].sort((a, b) => a.order - b.order).slice(0, step.stops);
    const random = seededRandom(step.workers * 31 + step.stops);
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
        const sent = epochNow();
        sentAt.set(task.id, sent);
        statuses.push(await post(agent, `${server?.url}/v1/tasks/${task.id}/stop`).catch(() => 0));
        answeredAfter.push(epochNow() - sent);
      }),
    );
    // Every stopped task halts by its message, or at the latest by its next heartbeat.
    const deadline = performance.now() + 2 * HEARTBEAT_INTERVAL_MS + 5_000;
    while (targets.some((task) => !halts.has(task.id)) && performance.now() < deadline) await sleep(50);
    const seconds = (performance.now() - began) / 1000;
    const calls = await server.calls();

    // What is left on the queues either reaches its worker or its DLQ before the count.
    const drainDeadline = performance.now() + 15_000;
    for (;;) {
      const depths = await Promise.all(queues.map((url) => queueDepth(sqs, url)));
      if (depths.every((depth) => depth === 0) || performance.now() > drainDeadline) break;
      await sleep(200);
    }
    const deadLettered = await queueDepth(sqs, deadLetterUrl);

    // A worker acknowledges just after its task lets go: a heartbeat's halt may still be writing.
    const targetIds = targets.map((task) => task.id);
    let records = await readRecords(dynamoDb, stack.tables.executions, targetIds);
    const acknowledgedBy = performance.now() + 5_000;
    while (records.some((record) => !record.stop_acknowledged_at) && performance.now() < acknowledgedBy) {
      await sleep(200);
      records = await readRecords(dynamoDb, stack.tables.executions, targetIds);
    }
    const redrive = await cleanupRedrive(stack);

    let received = 0;
    for (const host of hosts) host.send({ command: "finish" });
    for (const host of hosts) received += (await host.next("finished", 60_000)).received ?? 0;

    const latencies = targets.flatMap((task) => {
      const halt = halts.get(task.id);
      const sent = sentAt.get(task.id);
      return halt && sent !== undefined ? [halt.atMs - sent] : [];
    });
    const stoppedHalts = targets.flatMap((task) => {
      const halt = halts.get(task.id);
      return halt ? [halt] : [];
    });
    const stopped = records.filter((record) => record.status === "stopped");
    return {
      answered: statuses.filter((status) => status === 200).length,
      answeredAfter,
      latencies,
      byHeartbeat: stoppedHalts.filter((halt) => halt.by === "heartbeat").length,
      deadLettered,
      receivesPerStop: round(received / step.stops, 2),
      calls,
      seconds: round(seconds, 1),
      kit: {
        processes: hosts.length,
        workersPerProcess: Math.min(PYTHON_WORKERS_PER_PROCESS, step.workers),
        asyncioHalts: stoppedHalts.filter((halt) => halt.kind === "asyncio").length,
        threadHalts: stoppedHalts.filter((halt) => halt.kind === "thread").length,
        resent:
          records.reduce(
            (sum, record) => sum + (typeof record.signal_attempts === "number" ? record.signal_attempts : 0),
            0,
          ) + redrive.redriven,
        redrivenByCleanup: redrive.redriven,
        flagged: records.filter((record) => record.signal_delivery_failed_at !== undefined).length + redrive.flagged,
        acknowledged: stopped.filter((record) => typeof record.stop_acknowledged_at === "string").length,
      },
    };
  } finally {
    for (const host of hosts) host.kill();
    server?.stop();
    agent.destroy();
    for (let start = 0; start < queues.length; start += 50)
      await Promise.allSettled(
        queues.slice(start, start + 50).map((url) => sqs.send(new DeleteQueueCommand({ QueueUrl: url }))),
      );
    await sqs.send(new DeleteQueueCommand({ QueueUrl: deadLetterUrl })).catch(() => undefined);
    sqs.destroy();
    dynamoDb.destroy();
  }
}

async function readRecords(
  dynamoDb: ReturnType<typeof createDynamoDbClient>,
  table: string,
  ids: readonly string[],
): Promise<Record<string, unknown>[]> {
  const records: Record<string, unknown>[] = [];
  for (let start = 0; start < ids.length; start += 25) {
    const page = await Promise.all(
      ids.slice(start, start + 25).map(async (id) => {
        const { Item } = await dynamoDb.send(
          new GetItemCommand({ TableName: table, Key: { id: { S: id } }, ConsistentRead: true }),
        );
        return Item ? unmarshall(Item) : { id };
      }),
    );
    records.push(...page);
  }
  return records;
}

/**
 * One run of the cleanup (its real handler, `createLocalCleanup`) with its clock past the
 * acknowledgement timeout: every stop not acknowledged by then is due, and re-sent (or flagged).
 */
async function cleanupRedrive(stack: StackFile): Promise<{ redriven: number; flagged: number }> {
  useLocalProcessDefaults();
  pointFunctionsAt(stack);
  const clientOptions = { region: stack.region, requestTimeoutMs: 10_000, connectionTimeoutMs: 5_000, maxAttempts: 3 };
  const dynamoDb = createDynamoDbClient({ ...clientOptions, endpoint: stack.dynamodb_endpoint });
  const sqs = createSqsClient({ ...clientOptions, endpoint: stack.sqs_endpoint });
  try {
    const stopHandler = composeStopTask(readStopTaskConfig(), { dynamoDb, sqs }) as InvokableHandler;
    // The timeout the cleanup itself reads (its default unless the environment sets one).
    const { SIGNAL_ACK_TIMEOUT_SECONDS } = readCleanupConfig({
      ...process.env,
      STOP_FUNCTION_NAME: "stop-task (in-process)",
      SWEEP_POSITIONS_TABLE_NAME: stack.tables.sweep_positions,
    });
    const pastAckTimeoutMs = (SIGNAL_ACK_TIMEOUT_SECONDS + 10) * 1000;
    const cleanup = createLocalCleanup(stack, inProcessStopInvoker(stopHandler), process.env, {
      now: () => new Date(Date.now() + pastAckTimeoutMs),
    });
    const report = await cleanup.run();
    return { redriven: report.redriven + report.ownerQueueGone, flagged: report.flagged };
  } finally {
    dynamoDb.destroy();
    sqs.destroy();
  }
}
