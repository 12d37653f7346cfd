import {
  CreateTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  waitUntilTableExists,
} from "@aws-sdk/client-dynamodb";
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import {
  bulkStopJobsQueue,
  executionStreamProcessing,
  physicalName,
  type QueueDefinition,
  type SignalChannelDefinition,
  signalChannels,
  type TableDefinition,
  tables,
  taskEventsQueue,
} from "../../lib/resources.js";
import { signalQueueNamePrefix } from "../../lib/signals/queue-names.js";
import type { SignalQueueSettings } from "../../lib/worker/signal-queue.js";

/**
 * Creates the tables and the signal channels' dead-letter queues of `lib/resources.ts` on the
 * local emulators, the same definitions the CDK stack deploys (workers and environments make
 * their own queues, as in the cloud). Idempotent: existing resources are left as they are.
 */

/** A signal channel as the stack file names it: what the stop function and the owners need. */
export interface SignalChannelResources {
  /** An owner's queue URL is this plus its id: the functions' WORKER_/ENVIRONMENT_QUEUE_URL_PREFIX. */
  readonly url_prefix: string;
  /** An owner's queue name is this plus its id. */
  readonly name_prefix: string;
  readonly dead_letter_url: string;
  readonly dead_letter_arn: string;
}

export interface ProvisionedResources {
  readonly tables: {
    readonly executions: string;
    readonly api_keys: string;
    readonly limits: string;
    readonly sweep_positions: string;
    readonly bulk_stops: string;
  };
  readonly signal_channels: { readonly workers: SignalChannelResources; readonly environments: SignalChannelResources };
  readonly queues: {
    /** Every task event, in EventBridge's envelope (the local stand-in for the bus and a rule targeting a queue). */
    readonly events: string;
    /** Stream records the processor gave up on, described as Lambda's on-failure destination would. */
    readonly execution_stream_failures: string;
    /** The bulk stops' runs (lib/resources.ts `bulkStopJobsQueue`), consumed by the bulk stop function. */
    readonly bulk_stop_jobs: string;
  };
  readonly deadLetterQueues: { readonly events: string; readonly bulk_stop_jobs: string };
}

/** What an owner (lib/worker) needs to make its queue on this channel. */
export function ownerQueueSettings(channel: SignalChannelResources): SignalQueueSettings {
  return { namePrefix: channel.name_prefix, deadLetterQueueArn: channel.dead_letter_arn };
}

async function createTable(client: DynamoDBClient, name: string, table: TableDefinition): Promise<void> {
  const keyAttributes = [
    table.partitionKey,
    ...table.globalSecondaryIndexes.flatMap((index) => [index.partitionKey, ...(index.sortKey ? [index.sortKey] : [])]),
  ];
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
                Projection: index.projectedAttributes
                  ? { ProjectionType: "INCLUDE" as const, NonKeyAttributes: [...index.projectedAttributes] }
                  : { ProjectionType: "ALL" as const },
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

async function createQueue(
  client: SQSClient,
  prefix: string,
  queue: QueueDefinition,
): Promise<{ url: string; deadLetterUrl: string }> {
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

async function createChannel(
  client: SQSClient,
  prefix: string,
  channel: SignalChannelDefinition,
): Promise<SignalChannelResources> {
  const deadLetter = await client.send(
    new CreateQueueCommand({
      QueueName: physicalName(prefix, channel.deadLetter.logicalName),
      Attributes: { MessageRetentionPeriod: String(channel.deadLetter.retentionSeconds) },
    }),
  );
  const deadLetterUrl = deadLetter.QueueUrl ?? "";
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: deadLetterUrl, AttributeNames: ["QueueArn"] }),
  );
  const namePrefix = signalQueueNamePrefix(prefix, channel);
  // The emulator's own URL form, as the stack derives the cloud's from its DLQ's URL.
  return {
    url_prefix: deadLetterUrl.slice(0, deadLetterUrl.lastIndexOf("/") + 1) + namePrefix,
    name_prefix: namePrefix,
    dead_letter_url: deadLetterUrl,
    dead_letter_arn: Attributes?.QueueArn ?? "",
  };
}

export async function provisionLocalResources(
  clients: { readonly dynamoDb: DynamoDBClient; readonly sqs: SQSClient },
  prefix: string,
): Promise<ProvisionedResources> {
  const names = {
    executions: physicalName(prefix, tables.executions.logicalName),
    api_keys: physicalName(prefix, tables.apiKeys.logicalName),
    limits: physicalName(prefix, tables.limits.logicalName),
    sweep_positions: physicalName(prefix, tables.sweepPositions.logicalName),
    bulk_stops: physicalName(prefix, tables.bulkStops.logicalName),
  };
  const [, , , , , workers, environments, events, streamFailures, bulkStopJobs] = await Promise.all([
    createTable(clients.dynamoDb, names.executions, tables.executions),
    createTable(clients.dynamoDb, names.api_keys, tables.apiKeys),
    createTable(clients.dynamoDb, names.limits, tables.limits),
    createTable(clients.dynamoDb, names.sweep_positions, tables.sweepPositions),
    createTable(clients.dynamoDb, names.bulk_stops, tables.bulkStops),
    createChannel(clients.sqs, prefix, signalChannels.workers),
    createChannel(clients.sqs, prefix, signalChannels.environments),
    createQueue(clients.sqs, prefix, taskEventsQueue),
    clients.sqs.send(
      new CreateQueueCommand({
        QueueName: physicalName(prefix, executionStreamProcessing.failureQueue.logicalName),
        Attributes: { MessageRetentionPeriod: String(executionStreamProcessing.failureQueue.retentionSeconds) },
      }),
    ),
    createQueue(clients.sqs, prefix, bulkStopJobsQueue),
  ]);
  return {
    tables: names,
    signal_channels: { workers, environments },
    queues: {
      events: events.url,
      execution_stream_failures: streamFailures.QueueUrl ?? "",
      bulk_stop_jobs: bulkStopJobs.url,
    },
    deadLetterQueues: { events: events.deadLetterUrl, bulk_stop_jobs: bulkStopJobs.deadLetterUrl },
  };
}
