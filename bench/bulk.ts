/**
 * `npm run bench -- --only bulk`: a bulk stop at scale (issue 27, "At scale"; docs/bulk-stops.md).
 *
 * On the local stack (`npm start` in a process of its own: DynamoDB Local, fauxqs, and the local stream poller feeding
 * the real execution-stream handler, which enters each running task into `active-by-organization`), N running tasks of
 * `org-bench-a` are seeded beside N of `org-bench-b`, same agent id, with BatchWriteItem, as the platform writes them
 * (timestamps with microseconds and `+00:00`, mixed running statuses, some `pending` with no start and no worker, some on
 * a worker whose queue does not exist). Once the stream processor has indexed all of them, the bulk stop function runs
 * in this process, composed by its own `composeBulkStop`, its DynamoDB and SQS clients counted by the suite's counter
 * (test/support/aws-call-counter.ts): `POST /v1/stops` as API Gateway hands it over, then its runs from a jobs queue of
 * the bench's own (so the stack's own consumer never takes one), each message handed to the handler as the SQS event
 * source would, continuations included, until the bulk stop is done. Then every task of both organizations is read back.
 *
 * Times are on this machine's clock: from just before the request to each task's `stopped_at` (the stop core's clock,
 * taken just before its write).
 */
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import {
  type AttributeValue,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
} from "@aws-sdk/client-dynamodb";
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import type { APIGatewayProxyResult, SQSBatchResponse } from "aws-lambda";
import { composeBulkStop } from "../functions/bulk-stop/compose.js";
import { LOCAL_CREDENTIALS, LOCAL_REGION, localClientOptions } from "../infra/local/emulators.js";
import { useLocalProcessDefaults } from "../infra/local/functions.js";
import { localLambdaContext } from "../infra/local/lambda-context.js";
import { ownerQueueSettings } from "../infra/local/provision.js";
import { toSqsEvent } from "../infra/local/queue-consumer.js";
import { storeApiKey } from "../lib/auth/api-key-admin.js";
import { createDynamoDbClient, createSqsClient } from "../lib/aws/clients.js";
import { awsClientOptions, readBulkStopConfig } from "../lib/config.js";
import { organizationShardKeys } from "../lib/executions/indexes.js";
import { bulkStoppedBy } from "../lib/stop-task.js";
import { timestampMillis } from "../lib/timestamp.js";
import { dynamoWorkerExecutionUpdates } from "../lib/worker/execution-updates.js";
import { createReferenceWorker } from "../lib/worker/reference-worker.js";
import { countAwsCalls } from "../test/support/aws-call-counter.js";
import { aBulkStopRequest } from "../test/support/bulk-stop-harness.js";
import { startLocalStack } from "../test/support/local-stack-process.js";
import { untilOrganizationsIndexed } from "./index-counts.js";
import { seededRandom } from "./seeded-random.js";
import { median, percentile, round } from "./stats.js";

export interface BulkPlan {
  /** Running tasks per organization. */
  readonly tasks: number;
}

export interface BulkResults extends BulkPlan {
  readonly startupSeconds: number;
  /** BatchWriteItem of both organizations' tasks. */
  readonly seedSeconds: number;
  /** From the end of the seeding until every task of both organizations was in `active-by-organization`. */
  readonly indexedSeconds: number;
  /** The 202's `matched`, and the request's own time. */
  readonly matched: number;
  readonly requestMs: number;
  /** Messages of the jobs queue handled (the first run and its continuations). */
  readonly runs: number;
  /** From just before the request to the bulk stop marked done. */
  readonly doneMs: number;
  readonly stopped: number;
  readonly notStopped: number;
  /** Stopped tasks whose `version` is not 1, or whose `stopped_by` is not this bulk stop's. */
  readonly stoppedTwiceOrByOther: number;
  readonly counts: { readonly stopped: number; readonly failed: number; readonly already_terminal: number };
  readonly requestToStoppedP50Ms: number;
  readonly requestToStoppedP99Ms: number;
  /** Request to the last stopped record. */
  readonly lastStoppedMs: number;
  readonly stopsPerSecond: number;
  /** Every call the function's two clients sent (the request's and the runs'), retries included. */
  readonly calls: number;
  readonly requestCalls: number;
  readonly callsPerStopped: number;
  readonly callsByCommand: Record<string, number>;
  readonly tenancy: {
    /** Recorded requests that name the other organization (its id, a key of one of its tasks, its partitions). */
    readonly requestsNamingOther: number;
    readonly queries: number;
    /** Queries whose partition value is not one of `org-bench-a#<shard>`. */
    readonly queriesOutsideOwnPartitions: number;
    /** org-bench-b's items whose stored form after the run differs from before it (BatchGetItem, consistent). */
    readonly otherItemsChanged: number;
  };
  /** Items the function's Queries read from the executions table (ScannedCount: the request's counts and the pages). */
  readonly itemsRead: number;
}

const OWN = "org-bench-a";
const OTHER = "org-bench-b";
const AGENT = "agent-bench";
const WORKER_ID = "worker-bench-bulk";
const BENCH_JOBS_QUEUE = "bench-bulk-stop-jobs";

/** A timestamp as the platform (Python) writes it: `isoformat()` of an aware datetime, microseconds and `+00:00`. */
function platformTimestamp(epochMillis: number, micros: number): string {
  return `${new Date(epochMillis).toISOString().slice(0, 23)}${String(micros).padStart(3, "0")}+00:00`;
}

function runningTasks(organizationId: string, count: number, at: number, seed: number): Record<string, unknown>[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, index) => {
    const createdAt = at - Math.floor(random() * 3_600_000);
    const created = platformTimestamp(createdAt, Math.floor(random() * 1000));
    const started = platformTimestamp(createdAt + Math.floor(random() * 5_000), Math.floor(random() * 1000));
    const base = {
      id: randomUUID(),
      agent_id: AGENT,
      organization_id: organizationId,
      input: { text: "summarise the open support tickets", files: [] },
      created_at: created,
      source: "api",
    };
    // One in ten pending (no start, no worker), one in fifty on a worker whose queue is gone; the rest on the bench's
    // worker, executing, paused or in error.
    if (index % 10 === 0) return { ...base, status: "pending", started_at: null, worker_id: null };
    const status = (["executing", "executing", "executing", "paused", "error"] as const)[index % 5];
    const workerId = index % 50 === 1 ? "worker-bench-bulk-gone" : WORKER_ID;
    return { ...base, status, started_at: started, worker_id: workerId };
  });
}

/** `work` on each entry, `lanes` at a time. */
async function inLanes<Entry, Result>(
  entries: readonly Entry[],
  lanes: number,
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
  await Promise.all(Array.from({ length: lanes }, lane));
  return results;
}

function chunks<Entry>(entries: readonly Entry[], size: number): Entry[][] {
  const result: Entry[][] = [];
  for (let index = 0; index < entries.length; index += size) result.push(entries.slice(index, index + size));
  return result;
}

async function batchWrite(dynamoDb: DynamoDBClient, tableName: string, items: readonly Record<string, unknown>[]) {
  await inLanes(chunks(items, 25), 4, async (chunk) => {
    let requests = chunk.map((item) => ({ PutRequest: { Item: marshall(item) } }));
    while (requests.length > 0) {
      const { UnprocessedItems } = await dynamoDb.send(
        new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }),
      );
      requests = (UnprocessedItems?.[tableName] ?? []) as typeof requests;
    }
  });
}

/** Every item of `ids`, as stored (consistent reads), by id. */
async function batchGet(
  dynamoDb: DynamoDBClient,
  tableName: string,
  ids: readonly string[],
): Promise<Map<string, Record<string, AttributeValue>>> {
  const items = new Map<string, Record<string, AttributeValue>>();
  await inLanes(chunks(ids, 100), 4, async (chunk) => {
    let keys: Record<string, AttributeValue>[] = chunk.map((id) => ({ id: { S: id } }));
    while (keys.length > 0) {
      const { Responses, UnprocessedKeys } = await dynamoDb.send(
        new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: keys, ConsistentRead: true } } }),
      );
      for (const item of Responses?.[tableName] ?? []) items.set(item.id?.S ?? "", item);
      keys = UnprocessedKeys?.[tableName]?.Keys ?? [];
    }
  });
  return items;
}

export async function measureBulk(workDirectory: string, plan: BulkPlan): Promise<BulkResults> {
  const seedFile = join(workDirectory, "bulk-seed.json");
  writeFileSync(seedFile, JSON.stringify({ api_keys: [], executions: [] }));
  const bootStarted = Date.now();
  // The cleanup's timer stays off: only the bulk stop stops anything.
  const local = await startLocalStack(seedFile, {
    timeoutMs: 90_000,
    env: { CLEANUP_INTERVAL_SECONDS: "0", POWERTOOLS_LOG_LEVEL: "SILENT" },
  });
  const startupSeconds = round((Date.now() - bootStarted) / 1000, 1);
  try {
    const { stack } = local;
    process.env.AWS_ACCESS_KEY_ID = LOCAL_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = LOCAL_CREDENTIALS.secretAccessKey;
    // The bench's own clients (seeding, polling the index, reading back): never counted.
    const clientOptions = { ...localClientOptions, requestTimeoutMs: 30_000, region: LOCAL_REGION };
    const dynamoDb = createDynamoDbClient({ ...clientOptions, endpoint: stack.dynamodb_endpoint });
    const sqs = createSqsClient({ ...clientOptions, endpoint: stack.sqs_endpoint });
    const tableName = stack.tables.executions;

    // The bench's worker has its queue, so that its tasks' stops are sent, as in a fleet.
    await createReferenceWorker({
      workerId: WORKER_ID,
      sqs,
      signalQueue: ownerQueueSettings(stack.signal_channels.workers),
      updates: dynamoWorkerExecutionUpdates(dynamoDb, tableName),
    }).openQueue();
    const { QueueUrl: jobsQueueUrl = "" } = await sqs.send(
      new CreateQueueCommand({ QueueName: BENCH_JOBS_QUEUE, Attributes: { VisibilityTimeout: "360" } }),
    );

    const at = Date.now();
    const own = runningTasks(OWN, plan.tasks, at, 27);
    const other = runningTasks(OTHER, plan.tasks, at, 72);
    const seedStarted = Date.now();
    // Interleaved, so that both organizations' inserts reach the stream together.
    await batchWrite(
      dynamoDb,
      tableName,
      own.flatMap((task, index) => [task, other[index] as Record<string, unknown>]),
    );
    const seedSeconds = round((Date.now() - seedStarted) / 1000, 1);
    const indexStarted = Date.now();
    await untilOrganizationsIndexed(dynamoDb, tableName, { [OWN]: plan.tasks, [OTHER]: plan.tasks });
    const indexedSeconds = round((Date.now() - indexStarted) / 1000, 1);

    const otherIds = other.map((task) => String(task.id));
    const otherIdSet = new Set(otherIds);
    const otherBefore = await batchGet(dynamoDb, tableName, otherIds);
    const apiKey = `sk_bench_${randomUUID()}`;
    await storeApiKey(dynamoDb, stack.tables.api_keys, { key: apiKey, organizationId: OWN });

    // The bulk stop function, in this process, composed as its handler.ts composes it, its clients counted.
    useLocalProcessDefaults();
    const config = readBulkStopConfig({
      ...process.env,
      EXECUTIONS_TABLE_NAME: tableName,
      API_KEYS_TABLE_NAME: stack.tables.api_keys,
      BULK_STOPS_TABLE_NAME: stack.tables.bulk_stops,
      BULK_STOP_JOBS_QUEUE_URL: jobsQueueUrl,
      WORKER_QUEUE_URL_PREFIX: stack.signal_channels.workers.url_prefix,
      ENVIRONMENT_QUEUE_URL_PREFIX: stack.signal_channels.environments.url_prefix,
      EVENTS_QUEUE_URL: stack.queues.events,
      DYNAMODB_ENDPOINT: stack.dynamodb_endpoint,
      SQS_ENDPOINT: stack.sqs_endpoint,
    });
    const functionClientOptions = { ...awsClientOptions(config), region: LOCAL_REGION };
    const functionDynamoDb = createDynamoDbClient({ ...functionClientOptions, endpoint: config.DYNAMODB_ENDPOINT });
    const functionSqs = createSqsClient({ ...functionClientOptions, endpoint: config.SQS_ENDPOINT });
    const counter = countAwsCalls(functionDynamoDb, functionSqs);
    const handler = composeBulkStop(config, { dynamoDb: functionDynamoDb, sqs: functionSqs, region: LOCAL_REGION });

    const requestedAt = Date.now();
    const response = (await handler(
      aBulkStopRequest({ scope: { agent_id: AGENT }, reason: "bench" }, apiKey),
      localLambdaContext("bulk-stop"),
    )) as APIGatewayProxyResult;
    const requestMs = Date.now() - requestedAt;
    if (response.statusCode !== 202)
      throw new Error(`POST /v1/stops answered ${response.statusCode}: ${response.body}`);
    const { stop_id: stopId, matched } = JSON.parse(response.body) as { stop_id: string; matched: number };
    const requestCalls = counter.calls.length;

    const queueArn = `arn:aws:sqs:${LOCAL_REGION}:000000000000:${BENCH_JOBS_QUEUE}`;
    const bulkStopItem = async () =>
      (
        await dynamoDb.send(
          new GetItemCommand({ TableName: stack.tables.bulk_stops, Key: { id: { S: stopId } }, ConsistentRead: true }),
        )
      ).Item;
    let runs = 0;
    const runDeadline = Date.now() + 20 * 60_000;
    while ((await bulkStopItem())?.status?.S !== "done") {
      if (Date.now() > runDeadline) throw new Error(`bulk stop ${stopId} not done in 20 minutes`);
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: jobsQueueUrl,
          MaxNumberOfMessages: 1,
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ["All"],
        }),
      );
      for (const message of Messages) {
        runs += 1;
        const result = (await handler(
          toSqsEvent(message, queueArn, LOCAL_REGION),
          localLambdaContext("bulk-stop"),
        )) as SQSBatchResponse;
        if (result.batchItemFailures.length > 0) throw new Error(`bulk stop run ${runs} of ${stopId} failed`);
        await sqs.send(
          new DeleteMessageCommand({ QueueUrl: jobsQueueUrl, ReceiptHandle: message.ReceiptHandle ?? "" }),
        );
      }
    }
    const doneMs = Date.now() - requestedAt;
    const finished = unmarshall((await bulkStopItem()) ?? {});

    // Read back: every task of the organization stopped, once, by this bulk stop; the other's unchanged.
    const ownAfter = await batchGet(
      dynamoDb,
      tableName,
      own.map((task) => String(task.id)),
    );
    const otherAfter = await batchGet(dynamoDb, tableName, otherIds);
    const ours = bulkStoppedBy(stopId);
    const toStopped: number[] = [];
    let stoppedTwiceOrByOther = 0;
    for (const item of ownAfter.values()) {
      if (item.status?.S !== "stopped") continue;
      toStopped.push((timestampMillis(item.stopped_at?.S) ?? Number.NaN) - requestedAt);
      if (item.stopped_by?.S !== ours || item.version?.N !== "1") stoppedTwiceOrByOther += 1;
    }
    const otherItemsChanged = otherIds.filter(
      (id) => !isDeepStrictEqual(otherBefore.get(id), otherAfter.get(id)),
    ).length;

    const callsByCommand: Record<string, number> = {};
    for (const call of counter.calls) {
      const command = call.replace(/Command$/, "");
      callsByCommand[command] = (callsByCommand[command] ?? 0) + 1;
    }
    const ownPartitions = new Set(organizationShardKeys(OWN));
    let requestsNamingOther = 0;
    let queries = 0;
    let queriesOutsideOwnPartitions = 0;
    for (const request of counter.requests) {
      const input = request.input as {
        Key?: { id?: { S?: string } };
        ExpressionAttributeValues?: Record<string, { S?: string }>;
      };
      if (JSON.stringify(input).includes(OTHER) || (input.Key?.id?.S !== undefined && otherIdSet.has(input.Key.id.S)))
        requestsNamingOther += 1;
      if (request.command === "QueryCommand") {
        queries += 1;
        const partition = input.ExpressionAttributeValues?.[":shard"]?.S;
        if (partition === undefined || !ownPartitions.has(partition)) queriesOutsideOwnPartitions += 1;
      }
    }
    const lastStoppedMs = toStopped.length > 0 ? Math.max(...toStopped) : Number.NaN;
    functionDynamoDb.destroy();
    functionSqs.destroy();
    dynamoDb.destroy();
    sqs.destroy();
    return {
      ...plan,
      startupSeconds,
      seedSeconds,
      indexedSeconds,
      matched,
      requestMs,
      runs,
      doneMs,
      stopped: toStopped.length,
      notStopped: plan.tasks - toStopped.length,
      stoppedTwiceOrByOther,
      counts: {
        stopped: Number(finished.stopped ?? 0),
        failed: Number(finished.failed ?? 0),
        already_terminal: Number(finished.already_terminal ?? 0),
      },
      requestToStoppedP50Ms: round(median(toStopped)),
      requestToStoppedP99Ms: round(percentile(toStopped, 0.99)),
      lastStoppedMs: round(lastStoppedMs),
      stopsPerSecond: round(toStopped.length / (lastStoppedMs / 1000)),
      calls: counter.calls.length,
      requestCalls,
      callsPerStopped: round(counter.calls.length / Math.max(1, toStopped.length), 2),
      callsByCommand,
      tenancy: {
        requestsNamingOther,
        queries,
        queriesOutsideOwnPartitions,
        otherItemsChanged,
      },
      itemsRead: counter.itemsRead(tableName),
    };
  } finally {
    await local.stop();
  }
}
