import { DynamoDBClient, type DynamoDBClientConfig } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";

export interface AwsClientOptions {
  readonly region?: string;
  readonly requestTimeoutMs: number;
  readonly connectionTimeoutMs: number;
  readonly maxAttempts: number;
  readonly endpoint?: string;
  /** Replaces the HTTP transport (and its timeouts): `npm run bench` answers in-process to time the SDK's own work. */
  readonly requestHandler?: DynamoDBClientConfig["requestHandler"];
}

/** Settings every client of the service shares (lib/aws/eventbridge-client.ts builds one more, in its own module). */
export function commonOptions(options: AwsClientOptions) {
  return {
    ...(options.region ? { region: options.region } : {}),
    maxAttempts: options.maxAttempts,
    requestHandler: options.requestHandler ?? {
      requestTimeout: options.requestTimeoutMs,
      connectionTimeout: options.connectionTimeoutMs,
      // Without it the SDK only logs a warning and waits on a hung peer until the Lambda dies.
      throwOnRequestTimeout: true,
    },
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
