/** Composition root of the get function: config once, its client once per container, handed to compose.ts. */
import { createDynamoDbClient } from "../../lib/aws/clients.js";
import { awsClientOptions, readGetTaskConfig } from "../../lib/config.js";
import { composeGetTask } from "./compose.js";

const config = readGetTaskConfig();
const dynamoDb = createDynamoDbClient({ ...awsClientOptions(config), endpoint: config.DYNAMODB_ENDPOINT });

export const handler = composeGetTask(config, { dynamoDb });
