import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { dynamoWorkerExecutionUpdates } from "../../../lib/worker/execution-updates.js";
import { capturedLogLines } from "../../support/capture-logs.js";
import { type ExecutionStreamHarness, startExecutionStream } from "../../support/execution-stream-harness.js";
import { anExecution, aStopRequest, FACTORY_WORKER_ID } from "../../support/factories.js";
import {
  drainQueue,
  type LocalAws,
  provisionIsolatedStack,
  putItem,
  storeApiKey,
  writeFields,
} from "../../support/local-aws.js";
import { type StopTaskHarness, stopTaskHarness } from "../../support/stop-task-harness.js";
import { drainEvents, drainStopMessages, storedExecution } from "../../support/task-tree.js";

/**
 * Records written straight into the table as the platform, or a buggy writer, might write them (issue 24):
 * a stop never crosses organizations, and one record the service cannot read never holds up the others.
 */

const KEY = `sk-odd-records-${randomUUID()}`;
/** A Unix time in nanoseconds, as Python's `time.time_ns()` gives it: no timestamp pydantic accepts. */
const NANOSECONDS = "1733300000000000000";

let aws: LocalAws;
let service: StopTaskHarness;
let stream: ExecutionStreamHarness;
beforeAll(async () => {
  aws = await provisionIsolatedStack();
  await storeApiKey(aws, { key: KEY, organizationId: "org-a", keyId: "key-a" });
  service = stopTaskHarness(aws);
  stream = await startExecutionStream(aws);
});

beforeEach(() => {
  stream.failedRecords.length = 0;
});

afterAll(async () => {
  await stream?.stop();
});

const store = (record: Record<string, unknown>) => putItem(aws.dynamoDb, aws.resources.tables.executions, record);

/** Another writer (the platform) stops a record: a plain update, none of this service's bookkeeping. */
const stopByAnotherWriter = (id: string, fields: Record<string, unknown> = {}) =>
  writeFields(aws, id, { status: "stopped", stop_reason: "platform_timeout", ...fields });

async function settle() {
  await stream.settled(30_000);
}

async function expectNothingFailed() {
  expect(stream.failedRecords).toEqual([]);
  expect(await drainQueue(aws.sqs, aws.resources.queues.execution_stream_failures)).toEqual([]);
}

/** The record with `organization_id` as given: `undefined` leaves the attribute out. */
function withOrganization(record: Record<string, unknown>, organization: string | null | undefined) {
  const { organization_id: _organization, ...rest } = record;
  return organization === undefined ? rest : { ...rest, organization_id: organization };
}

describe("a parent whose organization cannot be read cascades nowhere", () => {
  const unreadableOrganizations = { empty: "", null: null, missing: undefined } as const;

  for (const [form, organization] of Object.entries(unreadableOrganizations)) {
    it(`leaves another organization's running sub-execution alone when the parent's organization_id is ${form}`, async () => {
      const child = anExecution({ organization_id: "org-b" });
      const parent = withOrganization(anExecution({ sub_executions: [child.id] }), organization);
      await store(child);
      await store(parent);
      await settle();
      await drainEvents(aws);

      await stopByAnotherWriter(String(parent.id));
      await settle();

      expect((await storedExecution(aws, child.id))?.status).toBe("executing");
      expect((await drainStopMessages(aws)).map((message) => message.task_id)).not.toContain(child.id);
      const stoppedIds = (await drainEvents(aws)).map((event) => event.detail.task_id);
      expect(stoppedIds).toEqual([parent.id]);
      expect(
        capturedLogLines().some(
          (line) => line.includes(String(parent.id)) && line.includes("parent_organization_unreadable"),
        ),
      ).toBe(true);
      await expectNothingFailed();
    });

    it(`does not stop a late child written under a stopped parent whose organization_id is ${form}`, async () => {
      const parent = withOrganization(
        anExecution({ status: "stopped", stop_reason: "platform_timeout" }),
        organization,
      );
      await store(parent);
      await settle();
      await drainEvents(aws);

      const child = anExecution({ organization_id: "org-b", parent_execution: parent.id });
      await store(child);
      await settle();

      expect((await storedExecution(aws, child.id))?.status).toBe("executing");
      expect(await drainEvents(aws)).toEqual([]);
      await expectNothingFailed();
    });
  }
});

describe("one record the service cannot read never holds up its neighbours", () => {
  it("stops every running sub-execution beside one whose status this service does not know, and the parent's event goes out", async () => {
    const queued = anExecution({ status: "queued" });
    const running = Array.from({ length: 6 }, () => anExecution());
    const finished = Array.from({ length: 24 }, () => anExecution({ status: "completed" }));
    const children = [...finished.slice(0, 12), queued, ...running, ...finished.slice(12)];
    const parent = anExecution({ sub_executions: children.map((child) => child.id) });
    for (const child of children) await store(child);
    await store(parent);
    await settle();
    await drainEvents(aws);
    await drainStopMessages(aws);

    const response = await service.http(aStopRequest(parent.id, KEY));
    expect(response.statusCode).toBe(200);
    await settle();

    for (const child of running) expect((await storedExecution(aws, child.id))?.status).toBe("stopped");
    expect((await storedExecution(aws, queued.id))?.status).toBe("queued");
    const stopped = (await drainEvents(aws)).map((event) => event.detail.task_id);
    expect(stopped.sort()).toEqual([parent.id, ...running.map((child) => child.id)].sort());
    expect((await storedExecution(aws, parent.id))?.cascade_cursor).toBe(children.length);
    await drainStopMessages(aws);
    await expectNothingFailed();
  });

  it("stops the children beside one whose created_at is a Unix time in nanoseconds", async () => {
    const odd = anExecution({ created_at: NANOSECONDS });
    const running = Array.from({ length: 3 }, () => anExecution());
    const parent = anExecution({ sub_executions: [odd.id, ...running.map((child) => child.id)] });
    for (const child of [odd, ...running]) await store(child);
    await store(parent);
    await settle();
    await drainEvents(aws);

    expect((await service.http(aStopRequest(parent.id, KEY))).statusCode).toBe(200);
    await settle();

    for (const child of [odd, ...running]) expect((await storedExecution(aws, child.id))?.status).toBe("stopped");
    const stopped = (await drainEvents(aws)).map((event) => event.detail.task_id);
    expect(stopped.sort()).toEqual([parent.id, odd.id, ...running.map((child) => child.id)].sort());
    await drainStopMessages(aws);
    await expectNothingFailed();
  });

  it("publishes the Task Stopped event of a parent another writer stopped with stopped_at in nanoseconds", async () => {
    const child = anExecution();
    const parent = anExecution({ sub_executions: [child.id] });
    await store(child);
    await store(parent);
    await settle();
    await drainEvents(aws);

    await stopByAnotherWriter(parent.id, { stopped_at: NANOSECONDS });
    await settle();

    const events = await drainEvents(aws);
    expect(events.map((event) => [event.detail.task_id, event.detail.stopped_at]).sort()).toEqual(
      [
        [parent.id, null],
        [child.id, expect.any(String)],
      ].sort(),
    );
    expect((await storedExecution(aws, child.id))?.status).toBe("stopped");
    await drainStopMessages(aws);
    await expectNothingFailed();
  });

  it("passes over a late child whose parent_execution is longer than a key may be, without a retry", async () => {
    const child = anExecution({ parent_execution: "p".repeat(2_100) });
    await store(child);
    await settle();

    const otherChild = anExecution({ organization_id: "org-c" });
    const otherParent = anExecution({ organization_id: "org-c", sub_executions: [otherChild.id] });
    await store(otherChild);
    await store(otherParent);
    await settle();
    await stopByAnotherWriter(otherParent.id);
    await settle();

    expect((await storedExecution(aws, child.id))?.status).toBe("executing");
    expect((await storedExecution(aws, otherChild.id))?.status).toBe("stopped");
    await drainEvents(aws);
    await drainStopMessages(aws);
    await expectNothingFailed();
  });
});

describe("a stop through the API of a record with a timestamp no reader accepts", () => {
  it("answers 500, yet the task is stopped and signalled", async () => {
    const record = anExecution({ created_at: NANOSECONDS });
    await store(record);
    await settle();
    await drainStopMessages(aws);

    const response = await service.http(aStopRequest(record.id, KEY));

    expect(response.statusCode).toBe(500);
    const stored = await storedExecution(aws, record.id);
    expect(stored?.status).toBe("stopped");
    expect(stored?.signal_pending_since).toBeUndefined();
    expect((await drainStopMessages(aws)).map((message) => message.task_id)).toEqual([record.id]);
    await settle();
    await drainEvents(aws);
  });
});

describe("each transition to stopped has its own idempotency key", () => {
  it("keys a second stop by another writer apart from the first stop through the API", async () => {
    const record = anExecution();
    await store(record);
    await settle();
    await drainEvents(aws);

    expect((await service.http(aStopRequest(record.id, KEY))).statusCode).toBe(200);
    await settle();
    // The platform sets the task running again, and then stops it itself.
    await writeFields(aws, record.id, { status: "executing" });
    await settle();
    await stopByAnotherWriter(record.id);
    await settle();

    const events = (await drainEvents(aws)).filter((event) => event["detail-type"] === "Task Stopped");
    expect(events.map((event) => event.detail.stop_reason)).toEqual(["user_requested", "platform_timeout"]);
    const keys = new Set(events.map((event) => event.detail.idempotency_key));
    expect(keys.size).toBe(2);
    await drainStopMessages(aws);
  });

  it("a new stop of a task that ran again carries none of the earlier stop's delivery, and its acknowledgement is recorded", async () => {
    // What an earlier stop left on a task the platform then set running again.
    const record = anExecution({
      stop_limit: { limit_name: "max_tokens", limit: 10, usage: 12 },
      stop_acknowledged_at: "2026-11-25T10:00:02.000000Z",
      stop_acknowledged_by: FACTORY_WORKER_ID,
      signal_attempts: 5,
      signal_delivery_failed_at: "2026-11-25T10:30:00.000000Z",
    });
    await store(record);
    await settle();
    await drainEvents(aws);

    expect((await service.http(aStopRequest(record.id, KEY))).statusCode).toBe(200);
    await settle();
    const stored = await storedExecution(aws, record.id);
    for (const stale of ["stop_limit", "stop_acknowledged_at", "signal_attempts", "signal_delivery_failed_at"]) {
      expect(stored?.[stale], stale).toBeUndefined();
    }
    expect(
      await dynamoWorkerExecutionUpdates(aws.dynamoDb, aws.resources.tables.executions).acknowledgeStop(record.id, {
        workerId: FACTORY_WORKER_ID,
      }),
    ).toBe("acknowledged");
    await settle();

    const events = await drainEvents(aws);
    expect(events.map((event) => event["detail-type"])).toEqual(["Task Stopped", "Task Stop Acknowledged"]);
    expect(events[0]?.detail.limit).toBeUndefined();
    expect(new Set(events.map((event) => event.detail.idempotency_key)).size).toBe(2);
    await drainStopMessages(aws);
  });
});
