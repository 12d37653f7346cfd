import { describe, expect, it } from "vitest";
import { readStopTaskConfig } from "../../lib/config.js";

const valid = {
  EXECUTIONS_TABLE_NAME: "executions",
  API_KEYS_TABLE_NAME: "api-keys",
  STOP_SIGNAL_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/1/stop",
  ASSET_COMMAND_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/1/assets",
};

describe("readStopTaskConfig", () => {
  it("applies the documented defaults", () => {
    expect(readStopTaskConfig(valid)).toMatchObject({ API_KEY_CACHE_TTL_SECONDS: 60, AWS_MAX_ATTEMPTS: 3 });
  });

  it("names every missing or invalid variable", () => {
    expect(() => readStopTaskConfig({ ...valid, EXECUTIONS_TABLE_NAME: undefined, STOP_SIGNAL_QUEUE_URL: "not a url" })).toThrow(
      /EXECUTIONS_TABLE_NAME.*STOP_SIGNAL_QUEUE_URL/,
    );
  });
});
