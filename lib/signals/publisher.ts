import { type MessageAttributeValue, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { StopTarget } from "../execution.js";
import type { LimitCrossing } from "../limits.js";
import { signalQueueUrl } from "./queue-names.js";
import {
  STOP_MESSAGE_TYPE,
  STOP_MESSAGE_VERSION,
  type StopMessage,
  stopMessageAttributeNames,
} from "./stop-message.js";

/**
 * Where stop signals go: each worker's own queue, or each self-hosted environment's own
 * asset-command queue, its URL this prefix plus the owner's id (lib/signals/queue-names.ts).
 */
export interface StopSignalQueues {
  /** The platform's own worker fleet: `.../<prefix>-worker-`. */
  readonly workerQueueUrlPrefix: string;
  /** Self-hosted environments' asset-command channel: `.../<prefix>-env-`. */
  readonly environmentQueueUrlPrefix: string;
}

export interface StopRequestDetails {
  readonly requestedAt: string;
  readonly requestedBy: string;
  readonly reason: string;
  /** The caller's own words on why (the record's `stop_note`). */
  readonly note?: string | null;
  /** A guard's stop: the limit crossed and the usage that crossed it. */
  readonly limit?: LimitCrossing;
}

/** Everything a stop message is built from: the few routing fields of the stopped record. */
export type StopSignalTarget = Pick<
  StopTarget,
  "id" | "organization_id" | "agent_id" | "worker_id" | "environment_id" | "is_manually_stopped"
>;

/**
 * `sent`, or `unassigned` when the execution names neither a worker nor an environment: no one
 * runs it, so there is no one to tell (a worker that takes it later hears of the stop from its
 * first heartbeat; the cleanup closes its re-drive entry).
 */
export type PublishResult = "sent" | "unassigned";

export type StopSignalPublisher = (execution: StopSignalTarget, request: StopRequestDetails) => Promise<PublishResult>;

export function buildStopMessage(execution: StopSignalTarget, request: StopRequestDetails): StopMessage {
  return {
    type: STOP_MESSAGE_TYPE,
    version: STOP_MESSAGE_VERSION,
    task_id: execution.id,
    organization_id: execution.organization_id,
    agent_id: execution.agent_id,
    worker_id: execution.worker_id,
    environment_id: execution.environment_id,
    is_manually_stopped: execution.is_manually_stopped,
    requested_at: request.requestedAt,
    requested_by: request.requestedBy,
    reason: request.reason,
    note: request.note ?? null,
    ...(request.limit === undefined ? {} : { limit: request.limit }),
  };
}

export type StopSignalRoute =
  | { readonly kind: "environment" | "worker"; readonly ownerId: string; readonly queueUrl: string }
  | { readonly kind: "unassigned" };

/**
 * Self-hosted executions are reached through their environment's queue, everything else through
 * the queue of the worker that runs it; the URL is derived from the id, with no lookup. An empty
 * id is no id (SQS would refuse it as an attribute, and no owner can be named so).
 */
export function stopSignalRoute(
  execution: Pick<StopSignalTarget, "worker_id" | "environment_id">,
  queues: StopSignalQueues,
): StopSignalRoute {
  if (execution.environment_id) {
    return {
      kind: "environment",
      ownerId: execution.environment_id,
      queueUrl: signalQueueUrl(queues.environmentQueueUrlPrefix, execution.environment_id),
    };
  }
  if (execution.worker_id) {
    return {
      kind: "worker",
      ownerId: execution.worker_id,
      queueUrl: signalQueueUrl(queues.workerQueueUrlPrefix, execution.worker_id),
    };
  }
  return { kind: "unassigned" };
}

/**
 * The owner's queue does not exist (never created, or deleted by the sweep after its owner went
 * quiet): the signal cannot be delivered now. The JSON protocol names it QueueDoesNotExist, the
 * older query protocol AWS.SimpleQueueService.NonExistentQueue.
 */
export function isQueueGone(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { Code?: unknown }).Code;
  return (
    error.name === "QueueDoesNotExist" ||
    code === "AWS.SimpleQueueService.NonExistentQueue" ||
    code === "QueueDoesNotExist"
  );
}

function stringAttribute(value: string): MessageAttributeValue {
  return { DataType: "String", StringValue: value };
}

function messageAttributes(message: StopMessage): Record<string, MessageAttributeValue> {
  const attributes: Record<string, MessageAttributeValue> = {
    [stopMessageAttributeNames.type]: stringAttribute(message.type),
    [stopMessageAttributeNames.taskId]: stringAttribute(message.task_id),
    [stopMessageAttributeNames.organizationId]: stringAttribute(message.organization_id),
  };
  // SQS refuses empty attribute values, so absent ids are left out rather than sent blank.
  if (message.worker_id) attributes[stopMessageAttributeNames.workerId] = stringAttribute(message.worker_id);
  if (message.environment_id) {
    attributes[stopMessageAttributeNames.environmentId] = stringAttribute(message.environment_id);
  }
  return attributes;
}

export function sqsStopSignalPublisher(client: SQSClient, queueUrls: StopSignalQueues): StopSignalPublisher {
  return async (execution, request) => {
    const route = stopSignalRoute(execution, queueUrls);
    if (route.kind === "unassigned") return "unassigned";
    const message = buildStopMessage(execution, request);
    await client.send(
      new SendMessageCommand({
        QueueUrl: route.queueUrl,
        MessageBody: JSON.stringify(message),
        MessageAttributes: messageAttributes(message),
      }),
    );
    return "sent";
  };
}
