/**
 * Composition root of the stop function: config read once, clients built once per container,
 * everything handed to the core. Nothing below this file constructs its own dependencies.
 */
import { createDynamoDbClient, createSqsClient } from "../../lib/aws/clients.js";
import { awsClientOptions, readStopTaskConfig } from "../../lib/config.js";
import { createStopTaskHandler, stopTaskDependencies } from "./app.js";

const config = readStopTaskConfig();
const clientOptions = awsClientOptions(config);
const dynamoDb = createDynamoDbClient({ ...clientOptions, endpoint: config.DYNAMODB_ENDPOINT });
const sqs = createSqsClient({ ...clientOptions, endpoint: config.SQS_ENDPOINT });

export const handler = createStopTaskHandler(stopTaskDependencies(config, { dynamoDb, sqs }));
