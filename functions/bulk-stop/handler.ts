/**
 * Composition root of the bulk stop function: config once, clients once per container, handed to compose.ts.
 */
import { createDynamoDbClient, createSqsClient } from "../../lib/aws/clients.js";
import { createEventBridgeClient } from "../../lib/aws/eventbridge-client.js";
import { awsClientOptions, readBulkStopConfig } from "../../lib/config.js";
import { composeBulkStop } from "./compose.js";

const config = readBulkStopConfig();
const clientOptions = awsClientOptions(config);
const dynamoDb = createDynamoDbClient({ ...clientOptions, endpoint: config.DYNAMODB_ENDPOINT });
const sqs = createSqsClient({ ...clientOptions, endpoint: config.SQS_ENDPOINT });
// Only AWS has a bus: the local stack delivers the events to a queue instead.
const eventBridge = config.EVENT_BUS_NAME ? createEventBridgeClient(clientOptions) : undefined;

export const handler = composeBulkStop(config, { dynamoDb, sqs, ...(eventBridge ? { eventBridge } : {}) });
