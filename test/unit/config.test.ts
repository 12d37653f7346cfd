import { describe, expect, it } from "vitest";
import { readExecutionStreamConfig, readStopTaskConfig } from "../../lib/config.js";

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
    expect(() =>
      readStopTaskConfig({ ...valid, EXECUTIONS_TABLE_NAME: undefined, WORKER_QUEUE_URL_PREFIX: "not a url" }),
    ).toThrow(/EXECUTIONS_TABLE_NAME.*WORKER_QUEUE_URL_PREFIX/);
  });
});

describe("readExecutionStreamConfig", () => {
  const stream = {
    EXECUTIONS_TABLE_NAME: "executions",
    LIMITS_TABLE_NAME: "limits",
    BULK_STOPS_TABLE_NAME: "bulk-stops",
    WORKER_QUEUE_URL_PREFIX: valid.WORKER_QUEUE_URL_PREFIX,
    ENVIRONMENT_QUEUE_URL_PREFIX: valid.ENVIRONMENT_QUEUE_URL_PREFIX,
  };

  it("publishes to the bus in AWS, or to the events queue on the local stack, with the cascade's bound", () => {
    expect(readExecutionStreamConfig({ ...stream, EVENT_BUS_NAME: "bus" })).toMatchObject({
      EVENT_BUS_NAME: "bus",
      CASCADE_CHILDREN_PER_RECORD: 25,
    });
    expect(
      readExecutionStreamConfig({
        ...stream,
        EVENTS_QUEUE_URL: "http://localhost:1/q",
        CASCADE_CHILDREN_PER_RECORD: "3",
      }),
    ).toMatchObject({
      CASCADE_CHILDREN_PER_RECORD: 3,
    });
  });

  it.each([
    ["neither", {}],
    ["both", { EVENT_BUS_NAME: "bus", EVENTS_QUEUE_URL: "http://localhost:1/q" }],
  ])("refuses %s of the bus and the events queue", (_case, events) => {
    expect(() => readExecutionStreamConfig({ ...stream, ...events })).toThrow(/exactly one of EVENT_BUS_NAME/);
  });

  it("refuses an unbounded cascade", () => {
    expect(() =>
      readExecutionStreamConfig({ ...stream, EVENT_BUS_NAME: "bus", CASCADE_CHILDREN_PER_RECORD: "0" }),
    ).toThrow(/CASCADE_CHILDREN_PER_RECORD/);
  });
});
