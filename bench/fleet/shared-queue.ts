/**
 * The design the per-worker queues replaced, kept here only as the fleet bench's reference: one stop-signal
 * queue for the whole fleet, consumed by every worker. A worker takes the stops for its own tasks
 * and releases every other at once (ChangeMessageVisibility 0), and each release counts as a
 * receive; the queue dead-lettered after 20. Nothing in the service uses this any more.
 */
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { buildStopMessage, type StopSignalPublisher } from "../../lib/signals/publisher.js";
import { stopMessageSchema } from "../../lib/signals/stop-message.js";
import type { ReferenceWorker } from "../../lib/worker/reference-worker.js";

/** The old queues' redrive threshold: room for the releases, which all count as receives. */
export const SHARED_QUEUE_RECEIVES_BEFORE_DEAD_LETTER = 20;

export interface SharedQueue {
  readonly url: string;
  readonly deadLetterUrl: string;
}

/** The shared queue and its DLQ, with the old attributes (visibility 30 s, redrive after 20 receives). */
export async function createSharedQueue(sqs: SQSClient, name: string): Promise<SharedQueue> {
  const { QueueUrl: deadLetterUrl = "" } = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: deadLetterUrl, AttributeNames: ["QueueArn"] }),
  );
  const { QueueUrl: url = "" } = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        VisibilityTimeout: "30",
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: Attributes?.QueueArn,
          maxReceiveCount: SHARED_QUEUE_RECEIVES_BEFORE_DEAD_LETTER,
        }),
      },
    }),
  );
  return { url, deadLetterUrl };
}

const stringAttribute = (value: string): MessageAttributeValue => ({ DataType: "String", StringValue: value });

/** The old publisher: every stop of the fleet on the one queue, its worker named in the body and an attribute. */
export function sharedQueuePublisher(sqs: SQSClient, queueUrl: string): StopSignalPublisher {
  return async (execution, request) => {
    const message = buildStopMessage(execution, request);
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify(message),
        MessageAttributes: {
          type: stringAttribute(message.type),
          task_id: stringAttribute(message.task_id),
          ...(message.worker_id ? { worker_id: stringAttribute(message.worker_id) } : {}),
        },
      }),
    );
    return "sent";
  };
}

/**
 * The old reference worker's consumer, on the shared queue: the reference worker's own halt and
 * acknowledgement (`honourStop`) for its stops, a release at once for everyone else's.
 */
export function sharedQueueConsumer(worker: ReferenceWorker, sqs: SQSClient, queueUrl: string, waitSeconds: number) {
  let polling = false;

  async function handle(message: Message): Promise<void> {
    const parsed = stopMessageSchema.safeParse(JSON.parse(message.Body ?? "null"));
    if (parsed.success && (await worker.honourStop(parsed.data)) === "not_mine") {
      await sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: message.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      );
      return;
    }
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
  }

  return {
    async startPolling(): Promise<void> {
      polling = true;
      while (polling) {
        try {
          const { Messages = [] } = await sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: queueUrl,
              MaxNumberOfMessages: 10,
              WaitTimeSeconds: waitSeconds,
              MessageAttributeNames: ["All"],
            }),
          );
          await Promise.all(Messages.map(handle));
        } catch {
          if (polling) await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      }
    },
    stopPolling(): void {
      polling = false;
    },
  };
}
