import { randomUUID } from "node:crypto";
import { type DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { inject } from "vitest";
import { localClientOptions } from "../../infra/local/emulators.js";
import { ownerQueueSettings, type ProvisionedResources, provisionLocalResources } from "../../infra/local/provision.js";
import { storeApiKey as storeApiKeyItem } from "../../lib/auth/api-key-admin.js";
import { createDynamoDbClient, createSqsClient } from "../../lib/aws/clients.js";
import { signalQueueUrl } from "../../lib/signals/queue-names.js";
import { ensureSignalQueue } from "../../lib/worker/signal-queue.js";
import { FACTORY_WORKER_ID } from "./factories.js";
import { rememberSecret } from "./secret-registry.js";

export interface LocalAws {
  readonly dynamoDb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly resources: ProvisionedResources;
}

export function localDynamoDbClient(): DynamoDBClient {
  return createDynamoDbClient({ ...localClientOptions, endpoint: inject("dynamoDbEndpoint") });
}

export function localSqsClient(): SQSClient {
  return createSqsClient({ ...localClientOptions, endpoint: inject("sqsEndpoint") });
}

/** Client options for an endpoint nothing listens on (the discard port): every call fails fast, as in an outage. */
export const unreachableEndpoint = {
  endpoint: "http://127.0.0.1:9",
  requestTimeoutMs: 200,
  connectionTimeoutMs: 200,
} as const;

/** The workers and self-hosted environments whose own queues a test stack starts with. */
export interface StackOwners {
  /** `[FACTORY_WORKER_ID]` when absent: the worker `anExecution()` names. */
  readonly workers?: readonly string[];
  readonly environments?: readonly string[];
}

/**
 * Fresh tables and DLQs under a unique prefix, so test files never see each other's data, and the
 * own queues of the owners named (made as each owner makes it at start, lib/worker/signal-queue.ts):
 * a stop for any other worker finds no queue, as for a worker that is not running.
 */
export async function provisionIsolatedStack(owners: StackOwners = {}): Promise<LocalAws> {
  const dynamoDb = localDynamoDbClient();
  const sqs = localSqsClient();
  const resources = await provisionLocalResources({ dynamoDb, sqs }, `test-${randomUUID().slice(0, 8)}`);
  const aws = { dynamoDb, sqs, resources };
  await Promise.all([
    ...(owners.workers ?? [FACTORY_WORKER_ID]).map((id) => workerQueue(aws, id)),
    ...(owners.environments ?? []).map((id) => environmentQueue(aws, id)),
  ]);
  return aws;
}

/**
 * The URL of a worker's own queue, derived as the stop function derives it (the queue exists only if the worker made
 * it).
 */
export function workerQueueUrl(aws: LocalAws, workerId: string = FACTORY_WORKER_ID): string {
  return signalQueueUrl(aws.resources.signal_channels.workers.url_prefix, workerId);
}

/** The URL of a self-hosted environment's own asset-command queue, derived as the stop function derives it. */
export function environmentQueueUrl(aws: LocalAws, environmentId: string): string {
  return signalQueueUrl(aws.resources.signal_channels.environments.url_prefix, environmentId);
}

/** A worker's own queue, made as the worker makes it at start (lib/worker/signal-queue.ts); its URL. */
export function workerQueue(aws: LocalAws, workerId: string): Promise<string> {
  return ensureSignalQueue(aws.sqs, ownerQueueSettings(aws.resources.signal_channels.workers), workerId);
}

/** A self-hosted environment's own asset-command queue, made as its agent makes it; its URL. */
export function environmentQueue(aws: LocalAws, environmentId: string): Promise<string> {
  return ensureSignalQueue(aws.sqs, ownerQueueSettings(aws.resources.signal_channels.environments), environmentId);
}

export async function putItem(
  dynamoDb: DynamoDBClient,
  tableName: string,
  item: Record<string, unknown>,
): Promise<void> {
  await dynamoDb.send(
    new PutItemCommand({ TableName: tableName, Item: marshall(item, { removeUndefinedValues: true }) }),
  );
}

/**
 * Another writer (the platform) sets `fields` on a stored execution: a plain UpdateItem, none of this service's
 * bookkeeping. Values are marshalled as boto3 would store them (a NumberValue for a number past 2^53).
 */
export async function writeFields(aws: LocalAws, taskId: string, fields: Record<string, unknown>): Promise<void> {
  const entries = Object.entries(fields);
  await aws.dynamoDb.send(
    new UpdateItemCommand({
      TableName: aws.resources.tables.executions,
      Key: { id: { S: taskId } },
      UpdateExpression: `SET ${entries.map((_, index) => `#f${index} = :v${index}`).join(", ")}`,
      ExpressionAttributeNames: Object.fromEntries(entries.map(([name], index) => [`#f${index}`, name])),
      ExpressionAttributeValues: marshall(
        Object.fromEntries(entries.map(([, value], index) => [`:v${index}`, value])),
        { removeUndefinedValues: true, convertClassInstanceToMap: true },
      ),
    }),
  );
}

export async function getStoredItem(
  dynamoDb: DynamoDBClient,
  tableName: string,
  id: string,
): Promise<Record<string, unknown> | undefined> {
  const { Item } = await dynamoDb.send(
    new GetItemCommand({ TableName: tableName, Key: { id: { S: id } }, ConsistentRead: true }),
  );
  return Item ? unmarshall(Item) : undefined;
}

export interface ApiKeyFixture {
  readonly key: string;
  readonly organizationId: string;
  readonly keyId: string;
  readonly status?: "active" | "revoked";
  readonly expiresAt?: string;
}

export async function storeApiKey(aws: LocalAws, fixture: ApiKeyFixture): Promise<void> {
  rememberSecret(fixture.key);
  await storeApiKeyItem(aws.dynamoDb, aws.resources.tables.api_keys, fixture);
}

/** Every message on the queue now (deleting them), waiting briefly so a just-sent one is not missed. */
export async function drainQueue(sqs: SQSClient, queueUrl: string, { waitSeconds = 0 } = {}): Promise<Message[]> {
  const received: Message[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: received.length === 0 ? waitSeconds : 0,
        MessageAttributeNames: ["All"],
        VisibilityTimeout: 30,
      }),
    );
    if (Messages.length === 0) return received;
    received.push(...Messages);
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle ?? "" })),
      }),
    );
  }
}
