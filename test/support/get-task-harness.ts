import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { composeGetTask } from "../../functions/get-task/compose.js";
import { readGetTaskConfig } from "../../lib/config.js";
import { type LocalAws, localDynamoDbClient } from "./local-aws.js";

/** The real get handler, wired by the function's own `composeGetTask` from a config naming this test's tables. */
export function getTaskHandler(aws: LocalAws, dynamoDb: DynamoDBClient = localDynamoDbClient()) {
  const config = readGetTaskConfig({
    EXECUTIONS_TABLE_NAME: aws.resources.tables.executions,
    API_KEYS_TABLE_NAME: aws.resources.tables.api_keys,
  });
  return composeGetTask(config, { dynamoDb });
}
