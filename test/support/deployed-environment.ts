/**
 * What a deployed function finds in its environment, less credentials, with resource names in
 * the shape the stack gives them. Each function reads its config when imported, so loading a
 * bundle cold needs these: the bundle test and the bench's cold init both do.
 */
export const sampleDeployedEnvironment = {
  AWS_REGION: "eu-west-1",
  AWS_LAMBDA_FUNCTION_NAME: "stop-task-dev-stop-task",
  EXECUTIONS_TABLE_NAME: "stop-task-dev-executions",
  API_KEYS_TABLE_NAME: "stop-task-dev-api-keys",
  LIMITS_TABLE_NAME: "stop-task-dev-limits",
  SWEEP_POSITIONS_TABLE_NAME: "stop-task-dev-sweep-positions",
  BULK_STOPS_TABLE_NAME: "stop-task-dev-bulk-stops",
  BULK_STOP_JOBS_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/123456789012/stop-task-dev-bulk-stop-jobs",
  WORKER_QUEUE_URL_PREFIX: "https://sqs.eu-west-1.amazonaws.com/123456789012/stop-task-dev-worker-",
  ENVIRONMENT_QUEUE_URL_PREFIX: "https://sqs.eu-west-1.amazonaws.com/123456789012/stop-task-dev-env-",
  STOP_FUNCTION_NAME: "stop-task-dev-stop-task",
  EVENT_BUS_NAME: "stop-task-dev-task-events",
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
} as const;
