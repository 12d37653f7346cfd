import {
  CreateTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  waitUntilTableExists,
} from "@aws-sdk/client-dynamodb";
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import {
  executionStreamProcessing,
  physicalName,
  type QueueDefinition,
  queues,
  type TableDefinition,
  tables,
  taskEventsQueue,
} from "../../lib/resources.js";

/**
 * Creates the tables and queues of `lib/resources.ts` on the local emulators, the same
 * definitions the CDK stack deploys. Idempotent: existing resources are left as they are.
 */

export interface ProvisionedResources {
  readonly tables: { readonly executions: string; readonly api_keys: string };
  readonly queues: {
    readonly stop_signals: string;
    readonly asset_commands: string;
    /** Every task event, in EventBridge's envelope (the local stand-in for the bus and a rule targeting a queue). */
    readonly events: string;
    /** Stream records the processor gave up on, described as Lambda's on-failure destination would. */
    readonly execution_stream_failures: string;
  };
  readonly deadLetterQueues: { readonly stop_signals: string; readonly asset_commands: string; readonly events: string };
}

async function createTable(client: DynamoDBClient, name: string, table: TableDefinition): Promise<void> {
  const keyAttributes = [table.partitionKey, ...table.globalSecondaryIndexes.flatMap((index) => [index.partitionKey, ...(index.sortKey ? [index.sortKey] : [])])];
  const attributeDefinitions = [...new Map(keyAttributes.map((key) => [key.name, key])).values()].map((key) => ({
    AttributeName: key.name,
    AttributeType: key.type,
  }));
  try {
    await client.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: attributeDefinitions,
        KeySchema: [{ AttributeName: table.partitionKey.name, KeyType: "HASH" }],
        ...(table.stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: table.stream } } : {}),
        ...(table.globalSecondaryIndexes.length > 0
          ? {
              GlobalSecondaryIndexes: table.globalSecondaryIndexes.map((index) => ({
                IndexName: index.indexName,
                KeySchema: [
                  { AttributeName: index.partitionKey.name, KeyType: "HASH" as const },
                  ...(index.sortKey ? [{ AttributeName: index.sortKey.name, KeyType: "RANGE" as const }] : []),
                ],
                Projection: { ProjectionType: "ALL" as const },
              })),
            }
          : {}),
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 0.1, maxDelay: 0.5 }, { TableName: name });
}

async function createQueue(client: SQSClient, prefix: string, queue: QueueDefinition): Promise<{ url: string; deadLetterUrl: string }> {
  const deadLetter = await client.send(
    new CreateQueueCommand({
      QueueName: physicalName(prefix, queue.deadLetter.logicalName),
      Attributes: { MessageRetentionPeriod: String(queue.deadLetter.retentionSeconds) },
    }),
  );
  const deadLetterUrl = deadLetter.QueueUrl ?? "";
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: deadLetterUrl, AttributeNames: ["QueueArn"] }),
  );
  const created = await client.send(
    new CreateQueueCommand({
      QueueName: physicalName(prefix, queue.logicalName),
      Attributes: {
        VisibilityTimeout: String(queue.visibilityTimeoutSeconds),
        MessageRetentionPeriod: String(queue.retentionSeconds),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: Attributes?.QueueArn,
          maxReceiveCount: queue.deadLetter.maxReceiveCount,
        }),
      },
    }),
  );
  return { url: created.QueueUrl ?? "", deadLetterUrl };
}

export async function provisionLocalResources(
  clients: { readonly dynamoDb: DynamoDBClient; readonly sqs: SQSClient },
  prefix: string,
): Promise<ProvisionedResources> {
  const names = {
    executions: physicalName(prefix, tables.executions.logicalName),
    api_keys: physicalName(prefix, tables.apiKeys.logicalName),
  };
  const [, , stopSignals, assetCommands, events, streamFailures] = await Promise.all([
    createTable(clients.dynamoDb, names.executions, tables.executions),
    createTable(clients.dynamoDb, names.api_keys, tables.apiKeys),
    createQueue(clients.sqs, prefix, queues.stopSignals),
    createQueue(clients.sqs, prefix, queues.assetCommands),
    createQueue(clients.sqs, prefix, taskEventsQueue),
    clients.sqs.send(
      new CreateQueueCommand({
        QueueName: physicalName(prefix, executionStreamProcessing.failureQueue.logicalName),
        Attributes: { MessageRetentionPeriod: String(executionStreamProcessing.failureQueue.retentionSeconds) },
      }),
    ),
  ]);
  return {
    tables: names,
    queues: {
      stop_signals: stopSignals.url,
      asset_commands: assetCommands.url,
      events: events.url,
      execution_stream_failures: streamFailures.QueueUrl ?? "",
    },
    deadLetterQueues: { stop_signals: stopSignals.deadLetterUrl, asset_commands: assetCommands.deadLetterUrl, events: events.deadLetterUrl },
  };
}
