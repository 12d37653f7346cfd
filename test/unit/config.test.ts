import { describe, expect, it } from "vitest";
import { readStopTaskConfig } from "../../lib/config.js";

const valid = {
  EXECUTIONS_TABLE_NAME: "executions",
  API_KEYS_TABLE_NAME: "api-keys",
  WORKER_QUEUE_URL_PREFIX: "https://sqs.us-east-1.amazonaws.com/1/stop-task-dev-worker-",
  ENVIRONMENT_QUEUE_URL_PREFIX: "https://sqs.us-east-1.amazonaws.com/1/stop-task-dev-env-",
};

describe("readStopTaskConfig", () => {
  it("applies the documented defaults", () => {
    expect(readStopTaskConfig(valid)).toMatchObject({ API_KEY_CACHE_TTL_SECONDS: 60, AWS_MAX_ATTEMPTS: 3 });
  });

  it("names every missing or invalid variable", () => {
    expect(() => readStopTaskConfig({ ...valid, EXECUTIONS_TABLE_NAME: undefined, WORKER_QUEUE_URL_PREFIX: "not a url" })).toThrow(
      /EXECUTIONS_TABLE_NAME.*WORKER_QUEUE_URL_PREFIX/,
    );
  });
});
