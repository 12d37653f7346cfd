import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { createDynamoDbClient, createSqsClient } from "../../lib/aws/clients.js";
import { LOCAL_CREDENTIALS, localClientOptions } from "./emulators.js";
import {
  latestStreamArn,
  type StreamHandler,
  type StreamPoller,
  type StreamPollerOptions,
  startStreamPoller,
} from "./stream-poller.js";

/** Where the local stack's executions table, its stream and the failure queue are. */
export interface LocalStreamTarget {
  readonly region: string;
  readonly dynamodbEndpoint: string;
  readonly sqsEndpoint: string;
  readonly executionsTable: string;
  readonly failureQueueUrl: string;
}

/**
 * The executions table's stream processor on the local stack: the real handler (the same one
 * Lambda runs) fed by a poller over DynamoDB Local's stream, with exhausted records described on
 * the failure queue.
 */
export async function startLocalExecutionStream(
  target: LocalStreamTarget,
  handler: StreamHandler,
  options: Pick<StreamPollerOptions, "startingPosition" | "settings" | "pollIntervalMs" | "onError"> = {},
): Promise<StreamPoller> {
  const clientOptions = { ...localClientOptions, region: target.region };
  const dynamoDb = createDynamoDbClient({ ...clientOptions, endpoint: target.dynamodbEndpoint });
  const sqs = createSqsClient({ ...clientOptions, endpoint: target.sqsEndpoint });
  const streams = new DynamoDBStreamsClient({
    region: target.region,
    endpoint: target.dynamodbEndpoint,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: localClientOptions.maxAttempts,
    requestHandler: {
      requestTimeout: localClientOptions.requestTimeoutMs,
      connectionTimeout: localClientOptions.connectionTimeoutMs,
      throwOnRequestTimeout: true,
    },
  });
  return startStreamPoller({
    ...options,
    streams,
    streamArn: await latestStreamArn(dynamoDb, target.executionsTable),
    handler,
    reportFailure: async (failure) => {
      await sqs.send(
        new SendMessageCommand({ QueueUrl: target.failureQueueUrl, MessageBody: JSON.stringify(failure) }),
      );
    },
  });
}
