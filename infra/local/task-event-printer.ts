import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import * as z from "zod/mini";
import { BULK_STOP_COMPLETED, bulkStopCompletedDetailSchema } from "../../lib/bulk-stop/events.js";
import { taskEventEnvelopeSchema } from "../../lib/task-events.js";

const bulkStopCompletedEnvelopeSchema = z.object({
  "detail-type": z.literal(BULK_STOP_COMPLETED),
  detail: bulkStopCompletedDetailSchema,
});

/**
 * `npm run worker`'s view of the task events: long-polls queues.events (where the local stack puts
 * every event, in EventBridge's envelope) and prints each, as a consumer of the bus would see it.
 * It consumes them: the queue is for whoever listens.
 */
export function printTaskEvents(
  sqs: SQSClient,
  queueUrl: string,
  log: (event: string, fields: Record<string, unknown>) => void,
): { stop(): void; done: Promise<void> } {
  let polling = true;
  const done = (async () => {
    while (polling) {
      try {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 5 }),
        );
        for (const message of Messages) {
          const body: unknown = JSON.parse(message.Body ?? "null");
          const bulk = bulkStopCompletedEnvelopeSchema.safeParse(body);
          if (bulk.success) {
            const { stop_id, matched, stopped, already_terminal, failed, held } = bulk.data.detail;
            log(BULK_STOP_COMPLETED, { stop_id, matched, stopped, already_terminal, failed, held });
            continue;
          }
          const parsed = taskEventEnvelopeSchema.safeParse(body);
          if (!parsed.success) {
            log("unreadable task event", { message_id: message.MessageId });
            continue;
          }
          const { detail } = parsed.data;
          log(parsed.data["detail-type"], {
            task_id: detail.task_id,
            parent_execution: detail.parent_execution,
            stop_reason: detail.stop_reason,
            stopped_by: detail.stopped_by,
            is_manually_stopped: detail.is_manually_stopped,
            ...(detail.stop_note ? { stop_note: detail.stop_note } : {}),
            idempotency_key: detail.idempotency_key,
          });
        }
        if (Messages.length > 0) {
          await sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: Messages.map((message, index) => ({
                Id: String(index),
                ReceiptHandle: message.ReceiptHandle ?? "",
              })),
            }),
          );
        }
      } catch (error) {
        log("receiving task events failed", { error: String(error) });
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  })();
  return {
    stop: () => {
      polling = false;
    },
    done,
  };
}
