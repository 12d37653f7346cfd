import { randomUUID } from "node:crypto";
import { type DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from "@aws-sdk/client-sqs";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { inject } from "vitest";
import { storeApiKey as storeApiKeyItem } from "../../lib/auth/api-key-admin.js";
import { rememberSecret } from "./secret-registry.js";
import { createDynamoDbClient, createSqsClient } from "../../lib/aws/clients.js";
import { type ProvisionedResources, provisionLocalResources } from "../../infra/local/provision.js";

export interface LocalAws {
  readonly dynamoDb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly resources: ProvisionedResources;
}

const testClientOptions = { requestTimeoutMs: 5000, connectionTimeoutMs: 2000, maxAttempts: 3 };

export function localDynamoDbClient(): DynamoDBClient {
  return createDynamoDbClient({ ...testClientOptions, endpoint: inject("dynamoDbEndpoint") });
}

export function localSqsClient(): SQSClient {
  return createSqsClient({ ...testClientOptions, endpoint: inject("sqsEndpoint") });
}

/** Client options for an endpoint nothing listens on (the discard port): every call fails fast, as in an outage. */
export const unreachableEndpoint = { endpoint: "http://127.0.0.1:9", requestTimeoutMs: 200, connectionTimeoutMs: 200 } as const;

/** Fresh tables and queues under a unique prefix, so test files never see each other's data. */
export async function provisionIsolatedStack(): Promise<LocalAws> {
  const dynamoDb = localDynamoDbClient();
  const sqs = localSqsClient();
  const resources = await provisionLocalResources({ dynamoDb, sqs }, `test-${randomUUID().slice(0, 8)}`);
  return { dynamoDb, sqs, resources };
}

export async function putItem(dynamoDb: DynamoDBClient, tableName: string, item: Record<string, unknown>): Promise<void> {
  await dynamoDb.send(new PutItemCommand({ TableName: tableName, Item: marshall(item, { removeUndefinedValues: true }) }));
}

export async function getStoredItem(dynamoDb: DynamoDBClient, tableName: string, id: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await dynamoDb.send(new GetItemCommand({ TableName: tableName, Key: { id: { S: id } }, ConsistentRead: true }));
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
