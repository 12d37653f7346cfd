import { randomUUID } from "node:crypto";
import { DescribeTableCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type Shard,
  type ShardIteratorType,
  type AttributeValue as StreamAttributeValue,
  type _Record as StreamSdkRecord,
  TrimmedDataAccessException,
} from "@aws-sdk/client-dynamodb-streams";
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import { executionStreamProcessing, type FunctionName } from "../../lib/resources.js";
import { matchesAnyFilter } from "./event-filter.js";
import { localLambdaContext } from "./lambda-context.js";

/**
 * What Lambda's DynamoDB Streams event source mapping does in AWS, for the local stack: reads
 * every shard of DynamoDB Local's stream (a child shard only after its parent), keeps the records
 * that match the mapping's filters, and invokes the same handler with Lambda's event shape. A
 * shard's records are spread over `parallelizationFactor` lanes by the hash of their key (Lambda's
 * ParallelizationFactor), one batch per lane at a time: each item's records stay in order, and
 * the items of different lanes are handled at once. Each lane reads as a shard did before: partial
 * batch failures resume the lane at the failed record; a thrown error splits the batch (bisect); a
 * record that fails `maxRetryAttempts` times is skipped and described on the failure queue, as
 * Lambda's on-failure destination would receive it. The shard is read ahead (up to 1,000 records
 * a GetRecords, as Lambda reads) while the lanes handle what was read.
 */

export type StreamHandler = (
  event: DynamoDBStreamEvent,
  context: Context,
) => Promise<DynamoDBBatchResponse | undefined>;

export interface StreamProcessingSettings {
  readonly batchSize: number;
  readonly parallelizationFactor: number;
  readonly maxRetryAttempts: number;
  readonly bisectBatchOnError: boolean;
  readonly filterPatterns: readonly unknown[];
}

/** Lambda's on-failure record for a stream batch: where the skipped records are, not the records themselves. */
export interface StreamFailureRecord {
  readonly requestContext: {
    readonly requestId: string;
    readonly functionArn: string;
    readonly condition: "RetryAttemptsExhausted";
    readonly approximateInvokeCount: number;
  };
  readonly responseContext: {
    readonly statusCode: number;
    readonly executedVersion: string;
    readonly functionError?: string;
  };
  readonly version: "1.0";
  readonly timestamp: string;
  readonly DDBStreamBatchInfo: {
    readonly shardId: string;
    readonly startSequenceNumber: string;
    readonly endSequenceNumber: string;
    readonly approximateArrivalOfFirstRecord: string;
    readonly approximateArrivalOfLastRecord: string;
    readonly batchSize: number;
    readonly streamArn: string;
  };
}

export interface StreamPollerOptions {
  readonly streams: DynamoDBStreamsClient;
  readonly streamArn: string;
  readonly handler: StreamHandler;
  /** Where an exhausted record is described. */
  readonly reportFailure: (failure: StreamFailureRecord) => Promise<void>;
  readonly settings?: Partial<StreamProcessingSettings>;
  /** Where the shards open at start are read from: everything the stream holds, or only what comes next. */
  readonly startingPosition?: "TRIM_HORIZON" | "LATEST";
  /** Pause when no shard had anything (Lambda polls a shard four times a second; locally a little faster). */
  readonly pollIntervalMs?: number;
  /** How often new shards are looked for. */
  readonly describeIntervalMs?: number;
  readonly functionName?: FunctionName;
  readonly onError?: (error: unknown) => void;
}

export interface StreamPoller {
  /**
   * Resolves once a full pass over every shard, begun after this call, found nothing left to do:
   * everything written before the call has been handled (and whatever that wrote, too).
   */
  settled(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

interface ShardState {
  readonly shardId: string;
  readonly parentShardId?: string;
  startAt: ShardIteratorType;
  iterator?: string;
  /** The last sequence number read from the shard, to resume after an iterator expires. */
  lastReadSequence?: string;
  /** TrimmedDataAccessException answers in a row. */
  trimmedRefusals: number;
  /** A closed shard was read to its end: it is exhausted once its lanes are empty. */
  endReached: boolean;
  exhausted: boolean;
  /** Records read and matching a filter, not yet handled, by the hash of their key. */
  readonly lanes: LaneState[];
  /** The GetRecords in flight, if any: the shard is read while its lanes are handled. */
  reading?: Promise<void>;
  /** What the last read found; after an empty read the next waits until `nextReadAt` (an idle poll's pace). */
  readFound: boolean;
  nextReadAt: number;
  /** Failures of the work in flight, thrown by the next step. */
  readonly failures: unknown[];
}

interface LaneState {
  /** Read, not yet handled (in order). */
  pending: DynamoDBRecord[];
  /** Attempts at the first pending record, and how many records the next invocation takes (halved by bisect). */
  attempts: number;
  limit: number;
  retryAt: number;
  /** The lane's invocation in flight, if any: one at a time, so its records are handled in order. */
  running?: Promise<void>;
}

/** What one GetRecords may return at most (Lambda's poller reads this many too). */
const READ_LIMIT = 1_000;

const defaultSettings: StreamProcessingSettings = {
  batchSize: executionStreamProcessing.batchSize,
  parallelizationFactor: executionStreamProcessing.parallelizationFactor,
  maxRetryAttempts: executionStreamProcessing.maxRetryAttempts,
  bisectBatchOnError: executionStreamProcessing.bisectBatchOnError,
  filterPatterns: executionStreamProcessing.filterPatterns,
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Binary values as Lambda's JSON event carries them: base64. */
function toLambdaAttribute(value: StreamAttributeValue): unknown {
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString("base64") };
  if (value.BS !== undefined) return { BS: value.BS.map((entry) => Buffer.from(entry).toString("base64")) };
  if (value.L !== undefined) return { L: value.L.map(toLambdaAttribute) };
  if (value.M !== undefined) return { M: toLambdaImage(value.M) };
  return value;
}

function toLambdaImage(image: Record<string, StreamAttributeValue> | undefined): Record<string, never> | undefined {
  return (
    image &&
    (Object.fromEntries(Object.entries(image).map(([name, value]) => [name, toLambdaAttribute(value)])) as Record<
      string,
      never
    >)
  );
}

/** A record as the Lambda event carries it (the SDK gives dates and bytes where the event has seconds and base64). */
export function toLambdaRecord(record: StreamSdkRecord, streamArn: string): DynamoDBRecord {
  const stream = record.dynamodb;
  const created = stream?.ApproximateCreationDateTime;
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion,
    eventSource: record.eventSource,
    awsRegion: record.awsRegion,
    eventSourceARN: streamArn,
    dynamodb: {
      ...(created ? { ApproximateCreationDateTime: Math.floor(new Date(created).getTime() / 1000) } : {}),
      Keys: toLambdaImage(stream?.Keys),
      ...(stream?.NewImage ? { NewImage: toLambdaImage(stream.NewImage) } : {}),
      ...(stream?.OldImage ? { OldImage: toLambdaImage(stream.OldImage) } : {}),
      SequenceNumber: stream?.SequenceNumber,
      SizeBytes: stream?.SizeBytes,
      StreamViewType: stream?.StreamViewType,
    },
  };
}

const sequenceOf = (record: DynamoDBRecord) => record.dynamodb?.SequenceNumber ?? "";
const compareSequences = (left: string, right: string) =>
  BigInt(left) < BigInt(right) ? -1 : BigInt(left) > BigInt(right) ? 1 : 0;

/** The lane of a record: the same key always lands in the same lane (FNV-1a over the key's attributes). */
function laneOf(record: DynamoDBRecord, lanes: number): number {
  if (lanes <= 1) return 0;
  const key = JSON.stringify(record.dynamodb?.Keys ?? {});
  let hash = 0x811c9dc5;
  for (let index = 0; index < key.length; index += 1) {
    hash ^= key.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % lanes;
}

export function startStreamPoller(options: StreamPollerOptions): StreamPoller {
  const settings = { ...defaultSettings, ...options.settings };
  const pollIntervalMs = options.pollIntervalMs ?? 100;
  const describeIntervalMs = options.describeIntervalMs ?? 1_000;
  const functionName = options.functionName ?? executionStreamProcessing.functionName;
  const reportError = options.onError ?? ((error: unknown) => console.error("stream poller:", error));
  const shards = new Map<string, ShardState>();
  let discoveredOnce = false;
  let nextDescribeAt = 0;
  let stopped = false;
  let round = 0;
  let lastIdleRound = -1;

  async function discoverShards(): Promise<void> {
    let exclusiveStartShardId: string | undefined;
    do {
      const { StreamDescription } = await options.streams.send(
        new DescribeStreamCommand({
          StreamArn: options.streamArn,
          ...(exclusiveStartShardId ? { ExclusiveStartShardId: exclusiveStartShardId } : {}),
        }),
      );
      for (const shard of StreamDescription?.Shards ?? []) addShard(shard);
      exclusiveStartShardId = StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStartShardId);
    discoveredOnce = true;
  }

  function addShard(shard: Shard): void {
    if (!shard.ShardId || shards.has(shard.ShardId)) return;
    // Shards open when the poller starts begin where it was told; any shard found later is new, and read whole.
    const startAt: ShardIteratorType = discoveredOnce ? "TRIM_HORIZON" : (options.startingPosition ?? "TRIM_HORIZON");
    shards.set(shard.ShardId, {
      shardId: shard.ShardId,
      ...(shard.ParentShardId ? { parentShardId: shard.ParentShardId } : {}),
      startAt,
      trimmedRefusals: 0,
      endReached: false,
      readFound: false,
      nextReadAt: 0,
      failures: [],
      exhausted: false,
      lanes: Array.from({ length: Math.max(1, settings.parallelizationFactor) }, () => ({
        pending: [],
        attempts: 0,
        limit: settings.batchSize,
        retryAt: 0,
      })),
    });
  }

  /** A child shard waits for its parent, so each item's changes are handled in the order they happened. */
  function ready(shard: ShardState): boolean {
    const parent = shard.parentShardId ? shards.get(shard.parentShardId) : undefined;
    return !shard.exhausted && (parent === undefined || parent.exhausted);
  }

  async function iteratorFor(shard: ShardState): Promise<string | undefined> {
    const { ShardIterator } = await options.streams.send(
      new GetShardIteratorCommand({
        StreamArn: options.streamArn,
        ShardId: shard.shardId,
        ...(shard.lastReadSequence
          ? { ShardIteratorType: "AFTER_SEQUENCE_NUMBER", SequenceNumber: shard.lastReadSequence }
          : { ShardIteratorType: shard.startAt }),
      }),
    );
    return ShardIterator;
  }

  const buffered = (shard: ShardState) => shard.lanes.reduce((sum, lane) => sum + lane.pending.length, 0);

  /** Reads the shard's next records into its lanes; false when there was nothing new. */
  async function read(shard: ShardState): Promise<boolean> {
    if (shard.endReached) return false;
    shard.iterator ??= await iteratorFor(shard);
    if (!shard.iterator) {
      shard.exhausted = true;
      return false;
    }
    try {
      const { Records = [], NextShardIterator } = await options.streams.send(
        new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: READ_LIMIT }),
      );
      shard.iterator = NextShardIterator;
      shard.trimmedRefusals = 0;
      const records = Records.map((record) => toLambdaRecord(record, options.streamArn));
      // Records no filter matches are dropped before batching, as Lambda drops them.
      for (const record of records) {
        if (matchesAnyFilter(record, settings.filterPatterns))
          shard.lanes[laneOf(record, shard.lanes.length)]?.pending.push(record);
      }
      const last = records.at(-1);
      if (last) shard.lastReadSequence = sequenceOf(last);
      // A closed shard ends once read to its end (and its pending records are handled).
      if (!NextShardIterator) shard.endReached = true;
      return records.length > 0;
    } catch (error) {
      if (error instanceof ExpiredIteratorException) {
        shard.iterator = undefined;
        return true;
      }
      if (!(error instanceof TrimmedDataAccessException)) throw error;
      // DynamoDB Local answers this for an iterator taken where its shard ended, once anything is
      // written anywhere; in AWS it means the records behind the iterator aged out. Retrying the same
      // iterator never ends: take a fresh one after the last record read, and if that is refused too,
      // go on from the oldest record the shard still holds.
      shard.iterator = undefined;
      if (shard.trimmedRefusals > 0 || shard.lastReadSequence === undefined) {
        shard.lastReadSequence = undefined;
        shard.startAt = "TRIM_HORIZON";
      }
      shard.trimmedRefusals += 1;
      return true;
    }
  }

  async function invoke(records: DynamoDBRecord[]): Promise<{ failedAt?: string; thrown?: unknown }> {
    try {
      const response = await options.handler({ Records: records }, localLambdaContext(functionName));
      const failures = response?.batchItemFailures ?? [];
      if (failures.length === 0) return {};
      // Lambda resumes from the lowest sequence number reported; one it cannot place fails the batch.
      const reported = failures
        .map((failure) => failure.itemIdentifier)
        .filter((id) => records.some((record) => sequenceOf(record) === id));
      if (reported.length !== failures.length || reported.length === 0)
        return { thrown: new Error("batchItemFailures names no record of the batch") };
      return { failedAt: reported.sort(compareSequences)[0] };
    } catch (error) {
      return { thrown: error };
    }
  }

  async function giveUp(
    shard: ShardState,
    lane: LaneState,
    records: DynamoDBRecord[],
    functionError: boolean,
  ): Promise<void> {
    const first = records[0];
    const last = records.at(-1);
    const arrival = (record: DynamoDBRecord | undefined) =>
      new Date((record?.dynamodb?.ApproximateCreationDateTime ?? 0) * 1000).toISOString();
    await options.reportFailure({
      requestContext: {
        requestId: randomUUID(),
        functionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
        condition: "RetryAttemptsExhausted",
        approximateInvokeCount: lane.attempts,
      },
      responseContext: {
        statusCode: 200,
        executedVersion: "$LATEST",
        ...(functionError ? { functionError: "Unhandled" } : {}),
      },
      version: "1.0",
      timestamp: new Date().toISOString(),
      DDBStreamBatchInfo: {
        shardId: shard.shardId,
        startSequenceNumber: first ? sequenceOf(first) : "",
        endSequenceNumber: last ? sequenceOf(last) : "",
        approximateArrivalOfFirstRecord: arrival(first),
        approximateArrivalOfLastRecord: arrival(last),
        batchSize: records.length,
        streamArn: options.streamArn,
      },
    });
  }

  function succeeded(lane: LaneState, handled: number): void {
    lane.pending.splice(0, handled);
    lane.attempts = 0;
    lane.limit = settings.batchSize;
    lane.retryAt = 0;
  }

  /** One invocation for one lane (or its wait before a retry). */
  async function stepLane(shard: ShardState, lane: LaneState): Promise<void> {
    // Read while this batch is handled appends to `pending`: the batch stays its first records.
    const batch = lane.pending.slice(0, lane.limit);
    const outcome = await invoke(batch);
    if (!outcome.thrown && outcome.failedAt === undefined) {
      succeeded(lane, batch.length);
      return;
    }

    lane.attempts += 1;
    if (outcome.failedAt !== undefined) {
      // Everything before the failed record is done (the checkpoint moves to it).
      const failedIndex = lane.pending.findIndex((record) => sequenceOf(record) === outcome.failedAt);
      lane.pending.splice(0, failedIndex);
    } else if (settings.bisectBatchOnError && batch.length > 1) {
      lane.limit = Math.ceil(batch.length / 2);
    }
    if (lane.attempts > settings.maxRetryAttempts) {
      // The first record is the one that keeps failing: skip it, and say where it was.
      const skipped = lane.pending.splice(
        0,
        outcome.failedAt !== undefined ? 1 : Math.min(lane.limit, lane.pending.length),
      );
      await giveUp(shard, lane, skipped, outcome.thrown !== undefined);
      lane.attempts = 0;
      lane.limit = settings.batchSize;
      return;
    }
    lane.retryAt = Date.now() + Math.min(100 * 2 ** (lane.attempts - 1), 2_000);
  }

  /** Starts `work` for the shard in the background; a failure is kept for the next step to throw. */
  function inBackground(shard: ShardState, work: Promise<unknown>): Promise<void> {
    return work.then(
      () => undefined,
      (error: unknown) => {
        shard.failures.push(error);
      },
    );
  }

  const inFlight = (shard: ShardState) =>
    [shard.reading, ...shard.lanes.map((lane) => lane.running)].filter(
      (work): work is Promise<void> => work !== undefined,
    );

  /**
   * One step for one shard: starts a read (while fewer than a batch per lane wait) and an
   * invocation for each lane that has records and none in flight, then waits for the first of
   * them to finish; each lane goes on at its own pace. False when the shard had nothing to do: no
   * work in flight, nothing waiting, and a read that found nothing.
   */
  async function step(shard: ShardState): Promise<boolean> {
    const failure = shard.failures.shift();
    if (failure !== undefined) throw failure;
    const idleBefore = inFlight(shard).length === 0 && buffered(shard) === 0;
    // Read ahead while the lanes work, but an empty shard is polled at the idle pace, not back to back.
    const readDue = idleBefore || Date.now() >= shard.nextReadAt;
    if (!shard.reading && readDue && buffered(shard) < settings.batchSize * shard.lanes.length) {
      shard.reading = inBackground(
        shard,
        read(shard).then((found) => {
          shard.readFound = found;
          shard.nextReadAt = found ? 0 : Date.now() + pollIntervalMs;
        }),
      ).finally(() => {
        shard.reading = undefined;
      });
    }
    const now = Date.now();
    for (const lane of shard.lanes) {
      if (lane.running || lane.pending.length === 0 || now < lane.retryAt) continue;
      lane.running = inBackground(shard, stepLane(shard, lane)).finally(() => {
        lane.running = undefined;
      });
    }
    const working = inFlight(shard);
    if (working.length > 0) await Promise.race(working);
    else {
      // Only lanes waiting to retry: pause until the first is due, rather than spin.
      const retries = shard.lanes.filter((lane) => lane.pending.length > 0).map((lane) => lane.retryAt);
      if (retries.length > 0) await sleep(Math.max(0, Math.min(pollIntervalMs, Math.min(...retries) - Date.now())));
    }
    if (shard.endReached && buffered(shard) === 0 && inFlight(shard).length === 0) shard.exhausted = true;
    if (!idleBefore) return true;
    // Nothing was under way: this step's read decides (awaited whole, so an idle pass is a full one).
    if (shard.reading) await shard.reading;
    return shard.readFound || buffered(shard) > 0 || inFlight(shard).length > 0;
  }

  const loop = (async () => {
    while (!stopped) {
      round += 1;
      const thisRound = round;
      let busy = false;
      try {
        if (Date.now() >= nextDescribeAt) {
          await discoverShards();
          nextDescribeAt = Date.now() + describeIntervalMs;
        }
        const results = await Promise.all([...shards.values()].filter(ready).map(step));
        busy =
          results.some(Boolean) ||
          [...shards.values()].some((shard) => buffered(shard) > 0 || inFlight(shard).length > 0);
      } catch (error) {
        busy = true;
        if (!stopped) reportError(error);
        await sleep(500);
      }
      if (!busy) {
        lastIdleRound = thisRound;
        await sleep(pollIntervalMs);
      }
    }
    // Stopped: what is in flight finishes before the poller says it stopped.
    await Promise.all([...shards.values()].flatMap(inFlight));
  })();

  return {
    async settled(timeoutMs = 30_000) {
      const after = round;
      const deadline = Date.now() + timeoutMs;
      while (lastIdleRound <= after) {
        if (stopped) throw new Error("stream poller stopped");
        if (Date.now() > deadline) throw new Error(`stream not drained within ${timeoutMs} ms`);
        await sleep(10);
      }
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** The stream ARN of a table (its latest stream): what an event source mapping is given in AWS. */
export async function latestStreamArn(dynamoDb: DynamoDBClient, tableName: string): Promise<string> {
  const { Table } = await dynamoDb.send(new DescribeTableCommand({ TableName: tableName }));
  if (!Table?.LatestStreamArn)
    throw new Error(`table ${tableName} has no stream: create it with its StreamSpecification (lib/resources.ts)`);
  return Table.LatestStreamArn;
}
