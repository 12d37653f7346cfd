import { DeleteMessageCommand, type Message, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import type { FunctionName } from "../../lib/resources.js";
import { localLambdaContext } from "./lambda-context.js";

/**
 * Lambda's SQS event source on the local stack: receives from a queue, hands each message to the function's real
 * handler as an SQS event of one record (batch size 1, as deployed), and deletes it when the handler did not report it
 * failed. A failed message is left to come back after its visibility timeout, then to the dead-letter queue, as in AWS.
 */

export type QueueHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

export interface QueueConsumer {
  /** Resolves once the queue has been seen empty with nothing in hand. */
  settled(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function toSqsEvent(message: Message, queueArn: string, region: string): SQSEvent {
  return {
    Records: [
      {
        messageId: message.MessageId ?? "",
        receiptHandle: message.ReceiptHandle ?? "",
        body: message.Body ?? "",
        attributes: {
          ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? "1",
          SentTimestamp: message.Attributes?.SentTimestamp ?? String(Date.now()),
          SenderId: "local",
          ApproximateFirstReceiveTimestamp: String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: message.MD5OfBody ?? "",
        eventSource: "aws:sqs",
        eventSourceARN: queueArn,
        awsRegion: region,
      },
    ],
  };
}

export function startQueueConsumer(options: {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly functionName: FunctionName;
  readonly handler: QueueHandler;
  readonly region?: string;
  /** Messages handled at once (Lambda's maximum concurrency for the event source). */
  readonly concurrency?: number;
  readonly onError?: (error: unknown) => void;
}): QueueConsumer {
  const region = options.region ?? "us-east-1";
  const queueArn = `arn:aws:sqs:${region}:000000000000:${options.queueUrl.slice(options.queueUrl.lastIndexOf("/") + 1)}`;
  let stopping = false;
  let busy = 0;
  let lastEmptyAt = 0;

  async function handle(message: Message): Promise<void> {
    const response = await options.handler(
      toSqsEvent(message, queueArn, region),
      localLambdaContext(options.functionName),
    );
    if ((response?.batchItemFailures ?? []).length > 0) return;
    await options.sqs.send(
      new DeleteMessageCommand({ QueueUrl: options.queueUrl, ReceiptHandle: message.ReceiptHandle ?? "" }),
    );
  }

  async function lane(): Promise<void> {
    while (!stopping) {
      try {
        const { Messages = [] } = await options.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: 1,
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ["All"],
          }),
        );
        if (Messages.length === 0) {
          if (busy === 0) lastEmptyAt = Date.now();
          continue;
        }
        busy += 1;
        try {
          for (const message of Messages) await handle(message);
        } finally {
          busy -= 1;
        }
      } catch (error) {
        if (stopping) return;
        options.onError?.(error);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  const lanes = Array.from({ length: options.concurrency ?? 2 }, () => lane());
  return {
    async settled(timeoutMs = 30_000) {
      const since = Date.now();
      const deadline = since + timeoutMs;
      while (Date.now() < deadline) {
        if (busy === 0 && lastEmptyAt > since) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`queue ${options.queueUrl} not settled within ${timeoutMs} ms`);
    },
    async stop() {
      stopping = true;
      await Promise.allSettled(lanes);
    },
  };
}
