import { isDeepStrictEqual } from "node:util";
import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  type DynamoDBClient,
} from "@aws-sdk/client-dynamodb";
import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { marshall } from "@aws-sdk/util-dynamodb";
import { type SeedFileInput, seedFileSchema } from "../infra/local/seed.js";
import type { StackFile } from "../infra/local/stack-file.js";
import { indexAttributes, livenessIndexKeys } from "../lib/executions/indexes.js";
import { SIGNAL_PENDING_SINCE } from "../lib/executions/repository.js";
import { signalQueueUrl } from "../lib/signals/queue-names.js";
import { type StopMessage, stopMessageSchema } from "../lib/signals/stop-message.js";
import { isStoppable, type LoadExecution } from "./scenario.js";

/**
 * After the load: every execution its own organization asked to stop (and that was still
 * running) is `stopped`, written once, with exactly one message on the queue its routing names
 * (its environment's, else its worker's; none when neither runs it yet); every other execution is
 * byte for byte what was seeded, and no other message exists on any owner's queue.
 */

export interface VerificationResult {
  readonly expectedStopped: number;
  readonly stopped: number;
  /** Of those, the ones no worker or environment ran yet: stopped with no message. */
  readonly stoppedUnassigned: number;
  readonly untouchedChecked: number;
  /** Messages found on the workers' queues and on the environments' queues, and how many queues were read. */
  readonly messages: { readonly workerQueues: number; readonly environmentQueues: number; readonly queuesRead: number };
  readonly failureCount: number;
  /** The first few failures, each naming the execution. */
  readonly failures: readonly string[];
}

/** What a stop writes; everything else on a stopped item must still be what was seeded. */
const STOP_WRITTEN_ATTRIBUTES = new Set([
  "status",
  "is_manually_stopped",
  "finished_at",
  "stopped_at",
  "stopped_by",
  "stop_reason",
  "updated_at",
  "version",
  indexAttributes.signalShard,
  indexAttributes.signalDueAt,
]);

const MAX_FAILURES_LISTED = 50;

async function drainQueue(sqs: SQSClient, queueUrl: string): Promise<Message[]> {
  const received: Message[] = [];
  let emptyReceives = 0;
  // Two empty receives in a row: fauxqs answers from memory, so nothing is still in flight.
  while (emptyReceives < 2) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 300,
        MessageAttributeNames: ["All"],
      }),
    );
    if (Messages.length === 0) {
      emptyReceives++;
      continue;
    }
    emptyReceives = 0;
    received.push(...Messages);
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle ?? "" })),
      }),
    );
  }
  return received;
}

async function readItems(
  dynamoDb: DynamoDBClient,
  tableName: string,
  ids: readonly string[],
): Promise<Map<string, Record<string, AttributeValue>>> {
  const items = new Map<string, Record<string, AttributeValue>>();
  for (let start = 0; start < ids.length; start += 100) {
    let keys: Record<string, AttributeValue>[] | undefined = ids
      .slice(start, start + 100)
      .map((id) => ({ id: { S: id } }));
    while (keys && keys.length > 0) {
      const response: BatchGetItemCommandOutput = await dynamoDb.send(
        new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: keys, ConsistentRead: true } } }),
      );
      for (const item of response.Responses?.[tableName] ?? []) {
        const id = item.id?.S;
        if (id) items.set(id, item);
      }
      keys = response.UnprocessedKeys?.[tableName]?.Keys;
    }
  }
  return items;
}

/** The item `npm start --seed` stored for each execution, in DynamoDB's own representation. */
function seededItems(seed: SeedFileInput): Map<string, Record<string, AttributeValue>> {
  const parsed = seedFileSchema.parse(seed);
  return new Map(
    parsed.executions.map((execution) => [
      execution.id,
      marshall(
        { ...execution, ...livenessIndexKeys(execution) },
        { removeUndefinedValues: true, convertClassInstanceToMap: true },
      ),
    ]),
  );
}

function parseJson(text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? "null");
  } catch {
    return undefined;
  }
}

/**
 * The owners' queues the seed names: each worker's (of fleet executions) and each environment's, as `worker:<id>` /
 * `env:<id>`.
 */
export function ownerQueuesOf(executions: readonly LoadExecution[]): {
  readonly workers: string[];
  readonly environments: string[];
} {
  const workers = new Set<string>();
  const environments = new Set<string>();
  for (const execution of executions) {
    if (execution.environmentId) environments.add(execution.environmentId);
    else if (execution.workerId) workers.add(execution.workerId);
  }
  return { workers: [...workers].sort(), environments: [...environments].sort() };
}

function expectedQueueOf(execution: LoadExecution): string | undefined {
  if (execution.environmentId) return `env:${execution.environmentId}`;
  return execution.workerId ? `worker:${execution.workerId}` : undefined;
}

function parseMessages(
  messages: readonly Message[],
  queue: string,
  failures: string[],
): (StopMessage & { queue: string })[] {
  return messages.flatMap((message) => {
    const parsed = stopMessageSchema.safeParse(parseJson(message.Body));
    if (!parsed.success) {
      failures.push(`${queue}: message ${message.MessageId} does not match the stop-message schema`);
      return [];
    }
    if (message.MessageAttributes?.task_id?.StringValue !== parsed.data.task_id) {
      failures.push(
        `${queue}: message for ${parsed.data.task_id} carries task_id attribute ${message.MessageAttributes?.task_id?.StringValue}`,
      );
    }
    return [{ ...parsed.data, queue }];
  });
}

export async function verifyAfterLoad({
  stack,
  dynamoDb,
  sqs,
  seed,
  executions,
  stopRequestedBySameOrganization,
}: {
  stack: StackFile;
  dynamoDb: DynamoDBClient;
  sqs: SQSClient;
  seed: SeedFileInput;
  executions: readonly LoadExecution[];
  /** Ids an authorized key of the execution's own organization asked to stop (any response). */
  stopRequestedBySameOrganization: ReadonlySet<string>;
}): Promise<VerificationResult> {
  const failures: string[] = [];
  const owners = ownerQueuesOf(executions);
  const queues = [
    ...owners.workers.map((id) => ({
      queue: `worker:${id}`,
      url: signalQueueUrl(stack.signal_channels.workers.url_prefix, id),
      kind: "worker",
    })),
    ...owners.environments.map((id) => ({
      queue: `env:${id}`,
      url: signalQueueUrl(stack.signal_channels.environments.url_prefix, id),
      kind: "env",
    })),
  ];
  const drained = await Promise.all(
    queues.map(async (queue) => ({ ...queue, messages: await drainQueue(sqs, queue.url) })),
  );
  const messages = drained.flatMap((queue) => parseMessages(queue.messages, queue.queue, failures));
  const countOf = (kind: string) =>
    drained.filter((queue) => queue.kind === kind).reduce((sum, queue) => sum + queue.messages.length, 0);
  const messagesByTask = new Map<string, (StopMessage & { queue: string })[]>();
  for (const message of messages)
    messagesByTask.set(message.task_id, [...(messagesByTask.get(message.task_id) ?? []), message]);

  const seeded = seededItems(seed);
  const stored = await readItems(
    dynamoDb,
    stack.tables.executions,
    executions.map((execution) => execution.id),
  );
  const known = new Set(executions.map((execution) => execution.id));
  for (const taskId of messagesByTask.keys()) {
    if (!known.has(taskId)) failures.push(`${taskId}: a stop message for a task that was never seeded`);
  }

  let expectedStopped = 0;
  let stopped = 0;
  let stoppedUnassigned = 0;
  let untouchedChecked = 0;
  for (const execution of executions) {
    const item = stored.get(execution.id);
    const seededItem = seeded.get(execution.id);
    const sent = messagesByTask.get(execution.id) ?? [];
    if (!item || !seededItem) {
      failures.push(`${execution.id}: missing after the run`);
      continue;
    }
    const shouldStop = isStoppable(execution) && stopRequestedBySameOrganization.has(execution.id);
    if (!shouldStop) {
      untouchedChecked++;
      if (!isDeepStrictEqual(item, seededItem))
        failures.push(`${execution.id} (${execution.status}): changed although no stop applied to it`);
      if (sent.length > 0)
        failures.push(
          `${execution.id} (${execution.status}): ${sent.length} stop message(s) although no stop applied to it`,
        );
      continue;
    }
    expectedStopped++;
    const problems: string[] = [];
    if (item.status?.S !== "stopped") problems.push(`status is ${item.status?.S}`);
    if (item.version?.N !== "1") problems.push(`written ${item.version?.N ?? 0} times`);
    if (item[SIGNAL_PENDING_SINCE]) problems.push("its signal is still pending");
    if (item.is_manually_stopped?.BOOL !== true) problems.push("is_manually_stopped is not true");
    for (const [name, value] of Object.entries(seededItem)) {
      if (STOP_WRITTEN_ATTRIBUTES.has(name) || name === indexAttributes.activeShard) continue;
      if (!isDeepStrictEqual(item[name], value)) problems.push(`${name} changed`);
    }
    if (item[indexAttributes.activeShard]) problems.push("still in the liveness index");
    const expectedQueue = expectedQueueOf(execution);
    // No worker and no environment runs it yet: there is no one to tell (docs/stop-delivery.md).
    const expectedMessages = expectedQueue ? 1 : 0;
    if (sent.length !== expectedMessages)
      problems.push(`${sent.length} stop messages, expected exactly ${expectedMessages}`);
    for (const message of sent) {
      if (message.queue !== expectedQueue) problems.push(`message on ${message.queue}, expected ${expectedQueue}`);
      if (message.organization_id !== execution.organizationId)
        problems.push(`message names organization ${message.organization_id}`);
      if (message.environment_id !== execution.environmentId)
        problems.push(`message names environment ${message.environment_id}`);
      if (message.worker_id !== execution.workerId) problems.push(`message names worker ${message.worker_id}`);
      if (message.requested_at !== item.stopped_at?.S)
        problems.push("message requested_at differs from the stored stopped_at");
    }
    if (problems.length === 0) {
      stopped++;
      if (!expectedQueue) stoppedUnassigned++;
    } else failures.push(`${execution.id} (${execution.status}, stop requested): ${problems.join("; ")}`);
  }

  return {
    expectedStopped,
    stopped,
    stoppedUnassigned,
    untouchedChecked,
    messages: { workerQueues: countOf("worker"), environmentQueues: countOf("env"), queuesRead: queues.length },
    failureCount: failures.length,
    failures: failures.slice(0, MAX_FAILURES_LISTED),
  };
}
