/**
 * Composition root of the stop function: config read once, clients built once per container,
 * both handed to its one wiring (compose.ts). Nothing below this file constructs its own clients.
 */
import { createDynamoDbClient, createSqsClient } from "../../lib/aws/clients.js";
import { awsClientOptions, readStopTaskConfig } from "../../lib/config.js";
import { composeStopTask } from "./compose.js";

const config = readStopTaskConfig();
const clientOptions = awsClientOptions(config);
const dynamoDb = createDynamoDbClient({ ...clientOptions, endpoint: config.DYNAMODB_ENDPOINT });
const sqs = createSqsClient({ ...clientOptions, endpoint: config.SQS_ENDPOINT });

export const handler = composeStopTask(config, { dynamoDb, sqs });
