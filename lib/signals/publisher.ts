import { type MessageAttributeValue, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { StopTarget } from "../execution.js";
import {
  STOP_MESSAGE_TYPE,
  STOP_MESSAGE_VERSION,
  type StopMessage,
  stopMessageAttributeNames,
} from "./stop-message.js";

export interface StopSignalQueues {
  /** The platform's own worker fleet. */
  readonly stopSignalQueueUrl: string;
  /** The cross-environment channel that self-hosted environments consume. */
  readonly assetCommandQueueUrl: string;
}

export interface StopRequestDetails {
  readonly requestedAt: string;
  readonly requestedBy: string;
  readonly reason: string;
  /** The caller's own words on why (the record's `stop_note`). */
  readonly note?: string | null;
}

/** Everything a stop message is built from: the few routing fields of the stopped record. */
export type StopSignalTarget = Pick<StopTarget, "id" | "organization_id" | "agent_id" | "worker_id" | "environment_id" | "is_manually_stopped">;

export type StopSignalPublisher = (execution: StopSignalTarget, request: StopRequestDetails) => Promise<void>;

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
  };
}

/** Self-hosted executions are reached through their environment's channel, everything else through the fleet's queue. */
export function stopSignalQueueFor(execution: Pick<StopSignalTarget, "environment_id">, queueUrls: StopSignalQueues): string {
  return execution.environment_id ? queueUrls.assetCommandQueueUrl : queueUrls.stopSignalQueueUrl;
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
    const message = buildStopMessage(execution, request);
    await client.send(
      new SendMessageCommand({
        QueueUrl: stopSignalQueueFor(execution, queueUrls),
        MessageBody: JSON.stringify(message),
        MessageAttributes: messageAttributes(message),
      }),
    );
  };
}
