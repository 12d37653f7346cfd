import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";

export interface AwsClientOptions {
  readonly region?: string;
  readonly requestTimeoutMs: number;
  readonly connectionTimeoutMs: number;
  readonly maxAttempts: number;
  readonly endpoint?: string;
}

function commonOptions(options: AwsClientOptions) {
  return {
    ...(options.region ? { region: options.region } : {}),
    maxAttempts: options.maxAttempts,
    requestHandler: { requestTimeout: options.requestTimeoutMs, connectionTimeout: options.connectionTimeoutMs },
    // Re-resolving the middleware stack on every call is measurable CPU on a hot path.
    cacheMiddleware: true,
  };
}

export function createDynamoDbClient(options: AwsClientOptions): DynamoDBClient {
  return new DynamoDBClient({ ...commonOptions(options), ...(options.endpoint ? { endpoint: options.endpoint } : {}) });
}

export function createSqsClient(options: AwsClientOptions): SQSClient {
  return new SQSClient({
    ...commonOptions(options),
    // Local emulators hand out queue URLs on hosts that do not resolve: send to the endpoint instead.
    ...(options.endpoint ? { endpoint: options.endpoint, useQueueUrlAsEndpoint: false } : {}),
  });
}
