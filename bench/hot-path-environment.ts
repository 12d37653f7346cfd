/** The hot path process's environment: what Lambda sets that the code reads, and credentials to sign with. */
export const hotPathEnvironment = {
  AWS_REGION: "eu-west-1",
  EXECUTIONS_TABLE_NAME: "stop-task-bench-executions",
  API_KEYS_TABLE_NAME: "stop-task-bench-api-keys",
  WORKER_QUEUE_URL_PREFIX: "https://sqs.eu-west-1.amazonaws.com/123456789012/stop-task-bench-worker-",
  ENVIRONMENT_QUEUE_URL_PREFIX: "https://sqs.eu-west-1.amazonaws.com/123456789012/stop-task-bench-env-",
  AWS_ACCESS_KEY_ID: "AKIABENCHBENCHBENCH0",
  AWS_SECRET_ACCESS_KEY: "bench-secret-access-key",
  AWS_SESSION_TOKEN: "bench-session-token",
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  // As deployed: INFO logs (the function's applicationLogLevel) and metrics on.
  POWERTOOLS_LOG_LEVEL: "INFO",
  POWERTOOLS_METRICS_DISABLED: "false",
} as const;
