import { randomUUID } from "node:crypto";
import { type EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { TASK_EVENT_SOURCE } from "../task-events.js";

/** Any event of this service as a publisher takes it: the task events, and a bulk stop's completion. */
export interface ServiceEvent {
  readonly detailType: string;
  /** When it happened, as EventBridge's `time`. */
  readonly time: string | null;
  readonly detail: object;
}

/** Delivers events, all or none: a failure is thrown, and whoever asked retries. */
export type ServiceEventPublisher<Event extends ServiceEvent> = (events: readonly Event[]) => Promise<void>;

/** Some events of a batch were refused: the record is retried (its consumers drop a repeat by its idempotency key). */
export class TaskEventsNotDeliveredError extends Error {
  override name = "TaskEventsNotDeliveredError";
  constructor(
    readonly failed: number,
    readonly codes: readonly string[],
  ) {
    super(`${failed} task event(s) not delivered: ${codes.join(", ") || "unknown"}`);
  }
}

/** In AWS: PutEvents on the service's bus, one call for a record's events. */
export function eventBridgeTaskEventPublisher<Event extends ServiceEvent>(
  client: EventBridgeClient,
  eventBusName: string,
): ServiceEventPublisher<Event> {
  return async (events) => {
    if (events.length === 0) return;
    const response = await client.send(
      new PutEventsCommand({
        Entries: events.map((event) => ({
          EventBusName: eventBusName,
          Source: TASK_EVENT_SOURCE,
          DetailType: event.detailType,
          Detail: JSON.stringify(event.detail),
          ...(event.time ? { Time: new Date(event.time) } : {}),
        })),
      }),
    );
    if (response.FailedEntryCount) {
      const codes = (response.Entries ?? []).flatMap((entry) => (entry.ErrorCode ? [entry.ErrorCode] : []));
      throw new TaskEventsNotDeliveredError(response.FailedEntryCount, codes);
    }
  };
}

/** EventBridge's `time`: UTC to the second. */
function eventTime(time: string | null): string {
  const date = time ? new Date(time) : new Date();
  return `${(Number.isNaN(date.getTime()) ? new Date() : date).toISOString().slice(0, 19)}Z`;
}

/** The envelope a rule's queue target receives, with the id EventBridge would give the event. */
export function taskEventEnvelope<Event extends ServiceEvent>(
  event: Event,
  where: { account: string; region: string },
): {
  readonly version: string;
  readonly id: string;
  readonly "detail-type": string;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: string[];
  readonly detail: Event["detail"];
} {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": event.detailType,
    source: TASK_EVENT_SOURCE,
    account: where.account,
    time: eventTime(event.time),
    region: where.region,
    resources: [],
    detail: event.detail,
  };
}

/**
 * On the local stack: each event in EventBridge's envelope straight onto a queue, as a rule that
 * matches every event of the service and targets that queue would deliver it.
 */
export function sqsEnvelopeTaskEventPublisher<Event extends ServiceEvent>(
  client: SQSClient,
  queueUrl: string,
  where: { account: string; region: string },
): ServiceEventPublisher<Event> {
  return async (events) => {
    if (events.length === 0) return;
    const response = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: events.map((event, index) => ({
          Id: String(index),
          MessageBody: JSON.stringify(taskEventEnvelope(event, where)),
        })),
      }),
    );
    const failed = response.Failed ?? [];
    if (failed.length > 0)
      throw new TaskEventsNotDeliveredError(
        failed.length,
        failed.map((entry) => entry.Code ?? "unknown"),
      );
  };
}

/** Where the local stack's events queue says it is: EventBridge's envelope needs an account and a region. */
const LOCAL_ACCOUNT = "000000000000";

/**
 * A function's event publisher, from its config: PutEvents on the bus in AWS (EVENT_BUS_NAME), or the events queue in
 * EventBridge's envelope on the local stack (EVENTS_QUEUE_URL); lib/config.ts makes sure exactly one is set.
 */
export function serviceEventPublisher<Event extends ServiceEvent>(
  config: { readonly EVENT_BUS_NAME?: string | undefined; readonly EVENTS_QUEUE_URL?: string | undefined },
  clients: { readonly sqs: SQSClient; readonly eventBridge?: EventBridgeClient; readonly region?: string },
): ServiceEventPublisher<Event> {
  if (config.EVENT_BUS_NAME) {
    if (!clients.eventBridge) throw new Error("EVENT_BUS_NAME is set but no EventBridge client was given");
    return eventBridgeTaskEventPublisher<Event>(clients.eventBridge, config.EVENT_BUS_NAME);
  }
  return sqsEnvelopeTaskEventPublisher<Event>(clients.sqs, config.EVENTS_QUEUE_URL ?? "", {
    account: LOCAL_ACCOUNT,
    region: clients.region ?? process.env.AWS_REGION ?? "us-east-1",
  });
}
