/** Composition root of the cleanup function: config once, clients once per container, handed to compose.ts. */
import { LambdaClient } from "@aws-sdk/client-lambda";
import { createDynamoDbClient, createSqsClient } from "../../lib/aws/clients.js";
import { lambdaStopInvoker } from "../../lib/aws/stop-invoker.js";
import { awsClientOptions, readCleanupConfig } from "../../lib/config.js";
import { functionDefinitions } from "../../lib/resources.js";
import { composeCleanup } from "./compose.js";

const config = readCleanupConfig();
const clientOptions = awsClientOptions(config);
const dynamoDb = createDynamoDbClient({ ...clientOptions, endpoint: config.DYNAMODB_ENDPOINT });
const sqs = createSqsClient({ ...clientOptions, endpoint: config.SQS_ENDPOINT });
// One attempt, bounded by the stop function's own timeout (and 2 s for the round trip): a retried
// stop would only find the execution stopped, and the next run, a minute later, retries the rest.
const lambda = new LambdaClient({
  maxAttempts: 1,
  requestHandler: {
    requestTimeout: (functionDefinitions["stop-task"].timeoutSeconds + 2) * 1000,
    throwOnRequestTimeout: true,
  },
});

export const handler = composeCleanup(config, {
  dynamoDb,
  sqs,
  invokeStop: lambdaStopInvoker(lambda, config.STOP_FUNCTION_NAME),
});
