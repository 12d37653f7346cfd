import { describe, expect, it } from "vitest";
import { readExecutionChange } from "../../../lib/stream/execution-change.js";
import { taskEventsOf } from "../../../lib/task-events.js";
import { aStreamRecord } from "../../support/stream-records.js";

const running = {
  id: "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e",
  agent_id: "agent-1",
  organization_id: "org-a",
  status: "executing",
  created_at: "2026-11-25T11:00:00.000Z",
  parent_execution: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
  worker_id: "worker-7",
  input: { text: "secret prompt", files: [] },
  result: null,
  user_oidc_token: "never-in-an-event",
};
const stopped = {
  ...running,
  status: "stopped",
  is_manually_stopped: true,
  stopped_at: "2026-11-25T12:00:00.123456Z",
  finished_at: "2026-11-25T12:00:00.123456Z",
  stopped_by: "key-a",
  stop_reason: "user_requested",
  stop_note: "budget spent",
  stop_request_id: "c0ffee00-0000-4000-8000-000000000001",
};

const eventsOf = (change: Parameters<typeof aStreamRecord>[0]) => {
  const read = readExecutionChange(aStreamRecord(change));
  if (!read) throw new Error("not a change");
  return taskEventsOf(read);
};

describe("Task Stopped", () => {
  it("is emitted once for the transition to stopped, with exactly the documented fields", () => {
    const events = eventsOf({ old: running, new: stopped });

    expect(events).toEqual([
      {
        detailType: "Task Stopped",
        time: "2026-11-25T12:00:00.123456Z",
        detail: {
          task_id: running.id,
          organization_id: "org-a",
          agent_id: "agent-1",
          parent_execution: running.parent_execution,
          is_manually_stopped: true,
          stop_reason: "user_requested",
          stopped_by: "key-a",
          stopped_at: "2026-11-25T12:00:00.123456Z",
          stop_note: "budget spent",
          idempotency_key: stopped.stop_request_id,
        },
      },
    ]);
    expect(JSON.stringify(events)).not.toContain("secret prompt");
    expect(JSON.stringify(events)).not.toContain("never-in-an-event");
  });

  it.each([
    [
      "any later write to a stopped record (a re-drive, the cascade's cursor)",
      { old: stopped, new: { ...stopped, signal_attempts: 2, cascade_cursor: 3 } },
    ],
    [
      "a record that is not stopped",
      { old: running, new: { ...running, idx_heartbeat_at: "2026-11-25T12:00:00.000000Z" } },
    ],
    ["a deleted record", { old: stopped }],
    ["a completion", { old: running, new: { ...running, status: "completed" } }],
  ])("is not emitted for %s", (_case, change) => {
    expect(eventsOf(change)).toEqual([]);
  });

  it(
    "is emitted for a record written already stopped, by any writer, with " +
      "the stream record's id as its key when it has no stop request id",
    () => {
      const { stop_request_id: _id, ...withoutRequestId } = stopped;
      const record = aStreamRecord({ new: withoutRequestId });
      const change = readExecutionChange(record);
      expect(change && taskEventsOf(change).map((event) => event.detail.idempotency_key)).toEqual([
        `stream:${record.eventID}`,
      ]);
    },
  );

  it("reads the record as leniently as the stop does: Python timestamps, nulls, floats, a bad field", () => {
    const platformWritten = {
      ...stopped,
      stopped_at: "2026-11-25 12:00:00.123456", // str(datetime.utcnow())
      parent_execution: null,
      stop_note: null,
      is_manually_stopped: null,
      stopped_by: 42,
      execution_attempts: 2.0,
    };
    const record = aStreamRecord({ old: running, new: platformWritten });
    // Numbers as boto3 stores them, beyond what a JS number holds exactly: read, never a throw.
    Object.assign(record.dynamodb?.NewImage ?? {}, {
      tokens: { M: { prompt_tokens: { N: "1E+21" } } },
      cascade_cursor: { N: "2.0" },
    });
    const change = readExecutionChange(record);
    expect(change?.newImage?.cascade_cursor).toBe(2);
    const [event] = change ? taskEventsOf(change) : [];
    expect(event?.detail).toMatchObject({
      stopped_at: "2026-11-25T12:00:00.123456Z",
      parent_execution: null,
      stop_note: null,
      is_manually_stopped: false,
      stopped_by: null,
    });
  });
});

describe("each transition to stopped has its own key", () => {
  it("keys a stop by another writer by its stream record, not by the request id an earlier stop left on the item", () => {
    const runningAgain = { ...stopped, status: "executing" };
    const stoppedAgain = { ...runningAgain, status: "stopped", stop_reason: "platform_timeout" };
    const record = aStreamRecord({ old: runningAgain, new: stoppedAgain });
    const change = readExecutionChange(record);
    expect(change && taskEventsOf(change).map((event) => event.detail.idempotency_key)).toEqual([
      `stream:${record.eventID}`,
    ]);
  });

  it("keys a new stop of this service by the request id its write set", () => {
    const runningAgain = { ...stopped, status: "executing" };
    const stoppedAgain = { ...stopped, stop_request_id: "c0ffee00-0000-4000-8000-000000000002" };
    expect(eventsOf({ old: runningAgain, new: stoppedAgain }).map((event) => event.detail.idempotency_key)).toEqual([
      "c0ffee00-0000-4000-8000-000000000002",
    ]);
  });
});

describe("Task Stop Acknowledged and Task Stop Delivery Failed", () => {
  it("are emitted when the acknowledgement or the delivery failure is first recorded, each with its own key", () => {
    const acknowledged = {
      ...stopped,
      stop_acknowledged_at: "2026-11-25T12:00:01.000000Z",
      stop_acknowledged_by: "worker-7",
    };
    const failed = { ...stopped, signal_delivery_failed_at: "2026-11-25T12:10:00.000000Z" };

    expect(eventsOf({ old: stopped, new: acknowledged })).toEqual([
      expect.objectContaining({
        detailType: "Task Stop Acknowledged",
        time: "2026-11-25T12:00:01.000000Z",
        detail: expect.objectContaining({
          idempotency_key: expect.stringMatching(/^stream:event-\d+:acknowledged$/),
          stop_acknowledged_at: "2026-11-25T12:00:01.000000Z",
        }),
      }),
    ]);
    expect(eventsOf({ old: stopped, new: failed })).toEqual([
      expect.objectContaining({
        detailType: "Task Stop Delivery Failed",
        detail: expect.objectContaining({
          idempotency_key: expect.stringMatching(/^stream:event-\d+:delivery_failed$/),
          signal_delivery_failed_at: "2026-11-25T12:10:00.000000Z",
        }),
      }),
    ]);
    expect(JSON.stringify(eventsOf({ old: stopped, new: acknowledged }))).not.toContain("stop_acknowledged_by");
  });

  it("are not emitted again when the record changes later, nor for a null a writer stored", () => {
    const acknowledged = { ...stopped, stop_acknowledged_at: "2026-11-25T12:00:01.000000Z" };
    expect(eventsOf({ old: acknowledged, new: { ...acknowledged, signal_attempts: 1 } })).toEqual([]);
    expect(
      eventsOf({ old: stopped, new: { ...stopped, stop_acknowledged_at: null, signal_delivery_failed_at: null } }),
    ).toEqual([]);
  });
});
