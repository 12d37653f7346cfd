import {
  CreateQueueCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  type SQSClient,
  TagQueueCommand,
} from "@aws-sdk/client-sqs";
import { type SignalChannelDefinition, signalChannels } from "../resources.js";
import { LAST_SEEN_TAG, signalQueueName } from "../signals/queue-names.js";
import { formatTimestamp } from "../timestamp.js";

/**
 * A worker's (or a self-hosted environment's) own stop-signal queue, made by its owner at start.
 * The stop function derives the same URL from the owner's id (lib/signals/queue-names.ts) and
 * sends to it; nothing else reads it. What the owner needs from the deployed stack: the name
 * prefix and the channel's dead-letter queue (the stack's outputs, or `.local/stack.json`), and
 * the stack's owner policy, which allows these calls on `<prefix>-worker-*` (or `-env-*`) only.
 */
export interface SignalQueueSettings {
  /** `<resource prefix>-worker-` for a worker, `<resource prefix>-env-` for an environment. */
  readonly namePrefix: string;
  /** Where a message its owner failed to finish with `maxReceiveCount` times is parked. */
  readonly deadLetterQueueArn: string;
  /** Visibility, retention and redrive threshold: lib/resources.ts, as the stack's DLQ was made for. */
  readonly channel?: SignalChannelDefinition;
}

/** Refresh the last-seen tag this often; the sweep deletes a queue only after a day without one. */
export const QUEUE_REFRESH_INTERVAL_MS = 10 * 60_000;

/** Long polls wait this long (SQS's maximum): one empty receive per owner every 20 s when idle. */
export const LONG_POLL_SECONDS = 20;

function queueAttributes(settings: SignalQueueSettings): Record<string, string> {
  const channel = settings.channel ?? signalChannels.workers;
  return {
    VisibilityTimeout: String(channel.visibilityTimeoutSeconds),
    MessageRetentionPeriod: String(channel.retentionSeconds),
    ReceiveMessageWaitTimeSeconds: String(LONG_POLL_SECONDS),
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: settings.deadLetterQueueArn,
      maxReceiveCount: channel.deadLetter.maxReceiveCount,
    }),
  };
}

/**
 * How the SDK names SQS's "a queue with this name and other attributes exists": the JSON protocol's
 * error type, or the query protocol's code that SQS also sends (and fauxqs gives as the name), as the
 * Python kit accepts them (workers/python/stop_task_worker/signal_queue.py).
 */
const QUEUE_EXISTS_NAMES = new Set(["QueueNameExists", "QueueAlreadyExists", "AWS.SimpleQueueService.QueueNameExists"]);

/**
 * Creates the owner's queue, or finds it (CreateQueue is idempotent for a queue with the same
 * attributes), tagged as seen now. Returns its URL: the same the stop function derives.
 */
export async function ensureSignalQueue(
  sqs: SQSClient,
  settings: SignalQueueSettings,
  ownerId: string,
  now: Date = new Date(),
): Promise<string> {
  const queueName = signalQueueName(settings.namePrefix, ownerId);
  const attributes = queueAttributes(settings);
  const lastSeen = { [LAST_SEEN_TAG]: formatTimestamp(now) };
  let queueUrl: string | undefined;
  try {
    // SQS-managed encryption at rest, as the stack's own queues have; the tag dates it from birth.
    ({ QueueUrl: queueUrl } = await sqs.send(
      new CreateQueueCommand({
        QueueName: queueName,
        Attributes: { ...attributes, SqsManagedSseEnabled: "true" },
        tags: lastSeen,
      }),
    ));
  } catch (error) {
    if (!(error instanceof Error) || !QUEUE_EXISTS_NAMES.has(error.name)) throw error;
    // Made by an older version with other attributes: bring it to this version's.
    ({ QueueUrl: queueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: queueName })));
    if (queueUrl) await sqs.send(new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: attributes }));
  }
  if (!queueUrl) throw new Error(`SQS returned no URL for ${queueName}`);
  // CreateQueue leaves an existing queue's tags alone: refresh the last-seen tag explicitly.
  await markSignalQueueSeen(sqs, queueUrl, now);
  return queueUrl;
}

/** Tells the cleanup's sweep this queue's owner is alive. */
export async function markSignalQueueSeen(sqs: SQSClient, queueUrl: string, now: Date = new Date()): Promise<void> {
  await sqs.send(new TagQueueCommand({ QueueUrl: queueUrl, Tags: { [LAST_SEEN_TAG]: formatTimestamp(now) } }));
}
