/**
 * The worker conformance suite: runs a worker command (any language) against a running local
 * stack and judges it from outside, by what SQS and DynamoDB hold and what the worker prints
 * (conformance/contract.ts), never by its code. docs/worker-protocol.md, "Conformance", lists the
 * checks and why each one matters.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from "@aws-sdk/client-dynamodb";
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueueTagsCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { DEMO_API_KEY, DEMO_ORGANIZATION } from "../infra/local/demo-data.js";
import { localClientOptions } from "../infra/local/emulators.js";
import { ownerQueueSettings } from "../infra/local/provision.js";
import type { StackFile } from "../infra/local/stack-file.js";
import { createDynamoDbClient, createSqsClient } from "../lib/aws/clients.js";
import { indexAttributes, indexShard } from "../lib/executions/indexes.js";
import { executionIndexes, signalChannels } from "../lib/resources.js";
import { buildStopMessage, sqsStopSignalPublisher } from "../lib/signals/publisher.js";
import { LAST_SEEN_TAG, signalQueueName } from "../lib/signals/queue-names.js";
import { timestampMillis } from "../lib/timestamp.js";
import { LONG_POLL_SECONDS } from "../lib/worker/signal-queue.js";
import { startWorkerProcess, type WorkerProcess } from "./worker-process.js";

export interface ConformanceCheck {
  readonly name: string;
  readonly passed: boolean;
  readonly detail: string;
}

export interface ConformanceOptions {
  readonly stack: StackFile;
  readonly stackFile: string;
  /** The worker command, run by `sh -c` (conformance/contract.ts says what it must do). */
  readonly workerCommand: string;
  readonly cwd?: string;
  readonly workerId?: string;
  /** Re-drives unacknowledged stops as the cleanup does, on a clock moved on by `byMs`. */
  readonly runCleanupLater: (byMs: number) => Promise<void>;
  readonly progress?: (line: string) => void;
}

/** "Within a few seconds": from the stop's answer to the worker's `halted` line and its acknowledgement. */
export const STOP_DEADLINE_MS = 5_000;
/**
 * A heartbeat every few seconds (the reference workers: 2 s to 5 s); a worker is stale after 5 minutes, but a
 * suite cannot wait that long, so it asks for one within this window.
 */
export const HEARTBEAT_DEADLINE_MS = 12_000;
/** A worker coming back: its start, then a message it finds waiting or its next heartbeat. */
export const RETURN_DEADLINE_MS = 30_000;
const QUEUE_DEADLINE_MS = 60_000;
/** The re-drive re-sends a stop unacknowledged after 60 s, then backs off; an hour on, it has re-sent or flagged it. */
const CLEANUP_LATER_MS = 60 * 60_000;
const POLL_MS = 100;

/** Records as the platform's Python services write them (pydantic dumps: explicit nulls, isoformat timestamps). */
const PLATFORM_RECORDS = join(import.meta.dirname, "..", "test", "fixtures", "platform-records", "executions.json");

type Item = Record<string, AttributeValue>;

export async function runConformance(options: ConformanceOptions): Promise<ConformanceCheck[]> {
  const { stack } = options;
  const progress = options.progress ?? (() => undefined);
  const workerId = options.workerId ?? `conformance-${randomUUID().slice(0, 8)}`;
  const clientOptions = { ...localClientOptions, region: stack.region };
  const dynamoDb = createDynamoDbClient({ ...clientOptions, endpoint: stack.dynamodb_endpoint });
  const sqs = createSqsClient({ ...clientOptions, requestTimeoutMs: 30_000, endpoint: stack.sqs_endpoint });
  const channel = stack.signal_channels.workers;
  const queueName = signalQueueName(ownerQueueSettings(channel).namePrefix, workerId);
  const table = stack.tables.executions;
  const checks: ConformanceCheck[] = [];
  const check = (name: string, passed: boolean, detail: string) => {
    checks.push({ name, passed, detail });
    progress(`${passed ? "pass" : "FAIL"}  ${name}: ${detail}`);
  };
  const deadLetteredBefore = await queueDepth(sqs, channel.dead_letter_url);

  const tasks = Array.from({ length: 6 }, () => randomUUID());
  const [stoppedFirst, stoppedSecond, keptRunning, stoppedWhileDown, lostWhileDown, lastOne] = tasks as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const foreignTask = randomUUID();
  const templates = platformRunningRecords();
  for (const [index, taskId] of [...tasks, foreignTask].entries()) {
    const template = templates[index % templates.length] as Item;
    const owner = taskId === foreignTask ? `${workerId}-other` : workerId;
    await dynamoDb.send(
      new PutItemCommand({
        TableName: table,
        Item: {
          ...template,
          id: { S: taskId },
          organization_id: { S: DEMO_ORGANIZATION },
          worker_id: { S: owner },
        },
      }),
    );
  }
  progress(`worker ${workerId}: ${tasks.length} tasks recorded running on it, 1 on another worker`);

  let worker: WorkerProcess = startWorkerProcess(options.workerCommand, { ...options, workerId });
  const fail = (name: string, why: string) => check(name, false, `${why}\n${indent(worker.tail())}`);
  try {
    // 1. Its queue, made before it takes tasks.
    const queueUrl = await waitForValue(() => queueUrlOf(sqs, queueName), QUEUE_DEADLINE_MS);
    if (!queueUrl) {
      fail("queue: made at start", `no queue ${queueName} within ${QUEUE_DEADLINE_MS / 1000} s`);
      return checks;
    }
    checkQueue(await queueFacts(sqs, queueUrl), channel.dead_letter_arn, check);
    worker.give(tasks);

    // 2. Heartbeats bring each task into the liveness index and keep it there.
    const firstBeats = await heartbeatsOf(dynamoDb, table, tasks, HEARTBEAT_DEADLINE_MS);
    const missing = tasks.filter((taskId) => !firstBeats.has(taskId));
    check(
      "heartbeat: each task enters the liveness index",
      missing.length === 0,
      missing.length === 0
        ? `${tasks.length} of ${tasks.length} in ${executionIndexes.activeByHeartbeat.indexName} within ${HEARTBEAT_DEADLINE_MS / 1000} s`
        : `${missing.length} never heartbeated: ${missing.join(", ")}`,
    );
    const advanced = await heartbeatsAdvance(dynamoDb, table, tasks, firstBeats, HEARTBEAT_DEADLINE_MS);
    check(
      "heartbeat: keeps each task there",
      advanced.length === tasks.length,
      `${advanced.length} of ${tasks.length} heartbeated again within ${HEARTBEAT_DEADLINE_MS / 1000} s`,
    );

    // 3. A stop halts its task, then is acknowledged.
    const stops = new StopJudge(stack, dynamoDb, table, workerId);
    const firstStops = await stops.stopAll([stoppedFirst, stoppedSecond], worker, STOP_DEADLINE_MS);
    check("stop: halts its task and is acknowledged", firstStops.passed, firstStops.detail);

    // 4. The same stop again, twice: a duplicate and a redelivery.
    const acknowledgedAt = (await readRecord(dynamoDb, table, stoppedFirst))?.stop_acknowledged_at;
    const publisher = sqsStopSignalPublisher(sqs, {
      workerQueueUrlPrefix: channel.url_prefix,
      environmentQueueUrlPrefix: stack.signal_channels.environments.url_prefix,
    });
    const resend = async (taskId: string) => {
      const record = await readRecord(dynamoDb, table, taskId);
      await publisher(stopTargetOf(record, taskId), stopRequestOf(record));
    };
    await resend(stoppedFirst);
    await resend(stoppedFirst);
    const drainedAfterDuplicates = await waitForDrain(sqs, queueUrl);
    const afterDuplicates = await readRecord(dynamoDb, table, stoppedFirst);
    const duplicateProblems = [
      ...(drainedAfterDuplicates ? [] : ["the duplicates were not deleted"]),
      ...(afterDuplicates?.stop_acknowledged_at === acknowledgedAt ? [] : ["the acknowledgement changed"]),
      ...((worker.halted(stoppedFirst)?.times ?? 0) > 1 ? ["the task was reported halted again"] : []),
      ...(worker.isRunning() ? [] : ["the worker exited"]),
    ];
    check(
      "stop: a duplicate or redelivered message is harmless",
      duplicateProblems.length === 0,
      duplicateProblems.length === 0
        ? "2 more copies deleted; first acknowledgement kept; worker still running"
        : duplicateProblems.join("; "),
    );

    // 5. What is not a stop of its own: set aside, nothing halted.
    const runningRecord = await readRecord(dynamoDb, table, keptRunning);
    const message = buildStopMessage(stopTargetOf(runningRecord, keptRunning), {
      requestedAt: new Date().toISOString(),
      requestedBy: "conformance",
      reason: "newer_version",
    });
    const beforeOdd = await heartbeatsOf(dynamoDb, table, [keptRunning], HEARTBEAT_DEADLINE_MS);
    for (const body of [
      "{ not json",
      JSON.stringify({ ...message, version: 2 }),
      JSON.stringify({ ...message, type: "task.pause" }),
      JSON.stringify({ ...message, task_id: foreignTask, worker_id: `${workerId}-other` }),
    ]) {
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    }
    const drainedAfterOdd = await waitForDrain(sqs, queueUrl);
    const stillBeating = await heartbeatsAdvance(dynamoDb, table, [keptRunning], beforeOdd, HEARTBEAT_DEADLINE_MS);
    const foreign = await readRecord(dynamoDb, table, foreignTask);
    const oddProblems = [
      ...(drainedAfterOdd ? [] : ["they were left in the queue (they would end in the DLQ)"]),
      ...(worker.halted(keptRunning) ? [`it halted ${keptRunning} on a message it cannot read`] : []),
      ...(stillBeating.length === 1 ? [] : [`${keptRunning} no longer heartbeats`]),
      ...(worker.halted(foreignTask) ? ["it reported halting another worker's task"] : []),
      ...(foreign?.stop_acknowledged_at ? ["it acknowledged another worker's task"] : []),
      ...(worker.isRunning() ? [] : ["the worker exited"]),
    ];
    check(
      "messages not its own (malformed, version 2, another type, another worker's): set aside",
      oddProblems.length === 0,
      oddProblems.length === 0
        ? "4 deleted; nothing halted or acknowledged; still heartbeating"
        : oddProblems.join("; "),
    );

    // 6. Down, stopped, back.
    progress("killing the worker (SIGKILL), stopping two of its tasks while it is down");
    await worker.kill();
    // The dead worker's last long poll may still be open at SQS, which would hand it the next message; wait it out,
    // so that the worker is down as far as its queue knows too.
    await new Promise((resolve) => setTimeout(resolve, (LONG_POLL_SECONDS + 1) * 1000));
    await stops.request(stoppedWhileDown);
    await stops.request(lostWhileDown);
    const { taken: lost, kept: waited } = await takeMessageOf(sqs, queueUrl, lostWhileDown, stoppedWhileDown);
    const restartedAt = Date.now();
    worker = startWorkerProcess(options.workerCommand, { ...options, workerId });
    worker.give([keptRunning, stoppedWhileDown, lostWhileDown, lastOne]);
    const waiting = await stops.judge([stoppedWhileDown], worker, RETURN_DEADLINE_MS, restartedAt);
    check(
      "stop while down: the waiting message reaches it when it returns",
      waited && waiting.passed,
      waited ? `${waiting.detail} (from its restart)` : "its stop message was not waiting in its queue",
    );
    const byHeartbeat = await stops.judge([lostWhileDown], worker, RETURN_DEADLINE_MS, restartedAt);
    check(
      "stop while down, message lost: halted at its next heartbeat",
      lost && byHeartbeat.passed,
      lost ? `${byHeartbeat.detail} (from its restart)` : "the harness could not take the message away",
    );

    // 7. The rest.
    const rest = await stops.stopAll([keptRunning, lastOne], worker, STOP_DEADLINE_MS);
    check("stop after its return: halts and is acknowledged", rest.passed, rest.detail);

    // 8. Nothing left behind.
    const drained = await waitForDrain(sqs, queueUrl);
    const depth = await queueDepth(sqs, queueUrl);
    check(
      "every message deleted",
      drained,
      drained ? "its queue is empty, nothing in flight" : `${depth.visible} waiting, ${depth.inFlight} in flight`,
    );
    await options.runCleanupLater(CLEANUP_LATER_MS);
    const records = await Promise.all(tasks.map((taskId) => readRecord(dynamoDb, table, taskId)));
    const resent = records.filter(
      (record) => typeof record?.signal_attempts === "number" && record.signal_attempts > 0,
    );
    const flagged = records.filter((record) => record?.signal_delivery_failed_at);
    const inRedrive = records.filter((record) => record?.[indexAttributes.signalShard] !== undefined);
    check(
      "no stop re-sent or flagged",
      resent.length + flagged.length + inRedrive.length === 0,
      `after the cleanup's re-drive ${CLEANUP_LATER_MS / 60_000} min on: ${resent.length} re-sent, ` +
        `${flagged.length} flagged, ${inRedrive.length} still awaiting acknowledgement`,
    );
    const deadLettered = await queueDepth(sqs, channel.dead_letter_url);
    const added =
      deadLettered.visible + deadLettered.inFlight - deadLetteredBefore.visible - deadLetteredBefore.inFlight;
    check("nothing in the DLQ", added === 0, `${added} message(s) dead-lettered during the run`);
    check(
      "ran throughout",
      worker.isRunning(),
      worker.isRunning() ? "no crash (one deliberate kill)" : "the worker exited",
    );
    return checks;
  } catch (error) {
    fail("the suite ran to its end", error instanceof Error ? error.message : String(error));
    return checks;
  } finally {
    await worker.stop();
    dynamoDb.destroy();
    sqs.destroy();
  }
}

/** Stops tasks through the API as a caller does, and judges what the worker then does. */
class StopJudge {
  private readonly requestedAt = new Map<string, number>();

  constructor(
    private readonly stack: StackFile,
    private readonly dynamoDb: DynamoDBClient,
    private readonly table: string,
    private readonly workerId: string,
  ) {}

  async request(taskId: string): Promise<void> {
    this.requestedAt.set(taskId, Date.now());
    const response = await fetch(`${this.stack.api_url}/v1/tasks/${taskId}/stop`, {
      method: "POST",
      headers: { "x-api-key": DEMO_API_KEY },
    });
    if (response.status !== 200) throw new Error(`stopping ${taskId}: ${response.status} ${await response.text()}`);
  }

  async stopAll(taskIds: readonly string[], worker: WorkerProcess, deadlineMs: number) {
    for (const taskId of taskIds) await this.request(taskId);
    return this.judge(taskIds, worker, deadlineMs);
  }

  /** Each task halted (its `halted` line) and acknowledged by this worker, within the deadline from `since`. */
  async judge(taskIds: readonly string[], worker: WorkerProcess, deadlineMs: number, since?: number) {
    const problems: string[] = [];
    const haltMs: number[] = [];
    const acknowledgeMs: number[] = [];
    for (const taskId of taskIds) {
      const from = since ?? this.requestedAt.get(taskId) ?? Date.now();
      const halted = await waitForValue(async () => worker.halted(taskId), from + deadlineMs - Date.now());
      const record = await waitForValue(
        async () => {
          const item = await readRecord(this.dynamoDb, this.table, taskId);
          return item?.stop_acknowledged_at ? item : undefined;
        },
        from + deadlineMs - Date.now(),
      );
      if (!halted) problems.push(`${taskId} not reported halted`);
      else haltMs.push(halted.at - from);
      if (!record) problems.push(`${taskId} not acknowledged`);
      else {
        if (record.stop_acknowledged_by !== this.workerId) {
          problems.push(`${taskId} acknowledged by ${String(record.stop_acknowledged_by)}`);
        }
        const acknowledgedAt = timestampMillis(record.stop_acknowledged_at);
        if (acknowledgedAt !== undefined) acknowledgeMs.push(Math.max(0, acknowledgedAt - from));
      }
    }
    const slowest = (values: number[]) => (values.length ? `${(Math.max(...values) / 1000).toFixed(2)} s` : "n/a");
    return {
      passed: problems.length === 0,
      detail:
        problems.length === 0
          ? `${taskIds.length} halted (slowest ${slowest(haltMs)}) and acknowledged (slowest ${slowest(acknowledgeMs)}), deadline ${deadlineMs / 1000} s`
          : `${problems.join("; ")} within ${deadlineMs / 1000} s`,
    };
  }
}

interface QueueFacts {
  readonly attributes: Record<string, string>;
  readonly tags: Record<string, string>;
}

function checkQueue(
  { attributes, tags }: QueueFacts,
  deadLetterArn: string,
  check: (name: string, passed: boolean, detail: string) => void,
): void {
  const channel = signalChannels.workers;
  const expected: Record<string, string> = {
    VisibilityTimeout: String(channel.visibilityTimeoutSeconds),
    MessageRetentionPeriod: String(channel.retentionSeconds),
    ReceiveMessageWaitTimeSeconds: String(LONG_POLL_SECONDS),
  };
  const wrong = Object.entries(expected)
    .filter(([name, value]) => attributes[name] !== value)
    .map(([name, value]) => `${name} ${attributes[name] ?? "absent"} (expected ${value})`);
  const redrive = parseJson(attributes.RedrivePolicy) as { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown };
  if (redrive?.deadLetterTargetArn !== deadLetterArn) {
    wrong.push(`dead-letter target ${String(redrive?.deadLetterTargetArn ?? "absent")} (expected ${deadLetterArn})`);
  }
  if (Number(redrive?.maxReceiveCount) !== channel.deadLetter.maxReceiveCount) {
    wrong.push(
      `maxReceiveCount ${String(redrive?.maxReceiveCount ?? "absent")} (expected ${channel.deadLetter.maxReceiveCount})`,
    );
  }
  check(
    "queue: documented attributes and DLQ",
    wrong.length === 0,
    wrong.length === 0
      ? `visibility ${expected.VisibilityTimeout} s, retention ${expected.MessageRetentionPeriod} s, polls ${expected.ReceiveMessageWaitTimeSeconds} s, ${channel.deadLetter.maxReceiveCount} receives to the channel's DLQ`
      : wrong.join("; "),
  );
  const lastSeen = timestampMillis(tags[LAST_SEEN_TAG]);
  const fresh = lastSeen !== undefined && Math.abs(Date.now() - lastSeen) < 5 * 60_000;
  check(
    `queue: tagged ${LAST_SEEN_TAG}`,
    fresh,
    fresh ? `${tags[LAST_SEEN_TAG]}` : `tag is ${tags[LAST_SEEN_TAG] ?? "absent"} (a timestamp of now is expected)`,
  );
}

function platformRunningRecords(): Item[] {
  const corpus = JSON.parse(readFileSync(PLATFORM_RECORDS, "utf8")) as {
    records: { readable: boolean; routes_to: string; status: string; item: Item }[];
  };
  const running = corpus.records.filter(
    (record) => record.readable && record.routes_to === "worker" && record.status === "executing",
  );
  if (running.length === 0) throw new Error(`${PLATFORM_RECORDS} holds no readable running record`);
  return running.map((record) => record.item);
}

type StoredRecord = Record<string, unknown>;

async function readRecord(dynamoDb: DynamoDBClient, table: string, taskId: string): Promise<StoredRecord | undefined> {
  const { Item } = await dynamoDb.send(
    new GetItemCommand({ TableName: table, Key: { id: { S: taskId } }, ConsistentRead: true }),
  );
  return Item ? unmarshall(Item) : undefined;
}

function stopTargetOf(record: StoredRecord | undefined, taskId: string) {
  const text = (value: unknown) => (typeof value === "string" ? value : null);
  return {
    id: taskId,
    organization_id: text(record?.organization_id) ?? DEMO_ORGANIZATION,
    agent_id: text(record?.agent_id) ?? "agent-platform",
    worker_id: text(record?.worker_id),
    environment_id: text(record?.environment_id),
    is_manually_stopped: record?.is_manually_stopped === true,
  };
}

function stopRequestOf(record: StoredRecord | undefined) {
  return {
    requestedAt: String(record?.stopped_at ?? new Date().toISOString()),
    requestedBy: String(record?.stopped_by ?? "conformance"),
    reason: String(record?.stop_reason ?? "user_requested"),
    note: typeof record?.stop_note === "string" ? record.stop_note : null,
  };
}

/** Each task's `idx_heartbeat_at` as the liveness index holds it, once all are there or the time is up. */
async function heartbeatsOf(
  dynamoDb: DynamoDBClient,
  table: string,
  taskIds: readonly string[],
  deadlineMs: number,
): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  await waitForValue(async () => {
    for (const taskId of taskIds) {
      const beat = await indexedHeartbeat(dynamoDb, table, taskId);
      if (beat) seen.set(taskId, beat);
    }
    return seen.size === taskIds.length ? true : undefined;
  }, deadlineMs);
  return seen;
}

/** The tasks whose indexed heartbeat moved past the one seen before, within the deadline. */
async function heartbeatsAdvance(
  dynamoDb: DynamoDBClient,
  table: string,
  taskIds: readonly string[],
  before: ReadonlyMap<string, string>,
  deadlineMs: number,
): Promise<string[]> {
  const advanced = new Set<string>();
  await waitForValue(async () => {
    for (const taskId of taskIds) {
      if (advanced.has(taskId)) continue;
      const beat = await indexedHeartbeat(dynamoDb, table, taskId);
      const previous = before.get(taskId);
      if (beat && previous && beat > previous) advanced.add(taskId);
    }
    return advanced.size === taskIds.length ? true : undefined;
  }, deadlineMs);
  return [...advanced];
}

/** What the cleanup reads: the task's entry in the `active-by-heartbeat` index, by its shard. */
async function indexedHeartbeat(dynamoDb: DynamoDBClient, table: string, taskId: string): Promise<string | undefined> {
  const { partitionKey, sortKey, indexName } = executionIndexes.activeByHeartbeat;
  let startKey: Item | undefined;
  do {
    const page = await dynamoDb.send(
      new QueryCommand({
        TableName: table,
        IndexName: indexName,
        KeyConditionExpression: "#shard = :shard",
        FilterExpression: "#id = :id",
        ExpressionAttributeNames: { "#shard": partitionKey.name, "#id": "id" },
        ExpressionAttributeValues: { ":shard": { S: indexShard("active", taskId) }, ":id": { S: taskId } },
        ExclusiveStartKey: startKey,
      }),
    );
    const beat = page.Items?.[0]?.[sortKey.name]?.S;
    if (beat) return beat;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return undefined;
}

async function queueUrlOf(sqs: SQSClient, queueName: string): Promise<string | undefined> {
  try {
    return (await sqs.send(new GetQueueUrlCommand({ QueueName: queueName }))).QueueUrl;
  } catch {
    return undefined;
  }
}

async function queueFacts(sqs: SQSClient, queueUrl: string): Promise<QueueFacts> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["All"] }),
  );
  const { Tags = {} } = await sqs.send(new ListQueueTagsCommand({ QueueUrl: queueUrl }));
  return { attributes: Attributes, tags: Tags };
}

async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<{ visible: number; inFlight: number }> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return {
    visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

/** True once the queue holds nothing, waiting or in flight: every message was received and deleted. */
async function waitForDrain(sqs: SQSClient, queueUrl: string): Promise<boolean> {
  const drained = await waitForValue(async () => {
    const depth = await queueDepth(sqs, queueUrl);
    return depth.visible + depth.inFlight === 0 ? true : undefined;
  }, STOP_DEADLINE_MS * 2);
  return drained === true;
}

/**
 * Takes the stop of `lostTaskId` out of the queue (a message lost), and puts back any other it received on the way.
 */
async function takeMessageOf(
  sqs: SQSClient,
  queueUrl: string,
  lostTaskId: string,
  keptTaskId: string,
): Promise<{ taken: boolean; kept: boolean }> {
  let taken = false;
  let kept = false;
  const deadline = Date.now() + STOP_DEADLINE_MS * 2;
  while (!(taken && kept) && Date.now() < deadline) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    for (const message of Messages) {
      const taskId = (parseJson(message.Body) as { task_id?: unknown } | undefined)?.task_id;
      if (taskId === lostTaskId) {
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
        taken = true;
      } else {
        if (taskId === keptTaskId) kept = true;
        await sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: queueUrl,
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: 0,
          }),
        );
      }
    }
  }
  return { taken, kept };
}

async function waitForValue<T>(read: () => Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> {
  const deadline = Date.now() + Math.max(0, timeoutMs);
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function parseJson(text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? "null");
  } catch {
    return undefined;
  }
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `      | ${line}`)
    .join("\n");
}
