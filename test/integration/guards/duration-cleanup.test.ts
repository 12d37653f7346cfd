import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Limits } from "../../../lib/limits.js";
import { cleanupHarness } from "../../support/cleanup-harness.js";
import type { ExecutionStreamHarness } from "../../support/execution-stream-harness.js";
import type { LocalAws } from "../../support/local-aws.js";
import {
  aTaskActiveFor as aTaskActiveForOn,
  organizationsNamed,
  startStackWithLimits,
} from "../../support/organization-limits.js";
import { stopTaskHarness } from "../../support/stop-task-harness.js";
import { drainEvents, drainStopMessages, storedExecution } from "../../support/task-tree.js";

/**
 * The duration guard is the cleanup's: it finds running tasks on the `active-by-start` index and
 * stops those active longer than their `max_duration_seconds`. The stream processor runs too, as
 * on the stack, since it turns the stop into the Task Stopped event.
 */

let aws: LocalAws;
let stream: ExecutionStreamHarness;

const organizationDefaults = {
  minute: { max_duration_seconds: 60 },
  hour: { max_duration_seconds: 3600 },
  tokensOnly: { max_tokens: 1000 },
} as const satisfies Record<string, Limits>;
const organizations = organizationsNamed(organizationDefaults);

beforeAll(async () => {
  ({ aws, stream } = await startStackWithLimits(organizations, organizationDefaults));
});

afterAll(async () => {
  await stream?.stop();
});

/** A running task of this file's stack, in the index since `activeForSeconds` ago. */
const aTaskActiveFor = (organizationId: string, activeForSeconds: number, limits?: Limits) =>
  aTaskActiveForOn(aws, organizationId, activeForSeconds, limits);

/**
 * Two runs within the acknowledgement time: the second must find nothing to stop, and nothing yet to re-send. The
 * stream processor has written the tasks' duration deadlines first, as it has on the stack by the next minute.
 */
async function runCleanupTwice() {
  await stream.settled();
  const cleanup = cleanupHarness(aws, stopTaskHarness(aws), { settings: { signalAckTimeoutMs: 60_000 } });
  const reports = [await cleanup(), await cleanup()];
  await stream.settled();
  return reports;
}

async function outcomeOf(
  taskId: string,
  messages: Awaited<ReturnType<typeof drainStopMessages>>,
  events: Awaited<ReturnType<typeof drainEvents>>,
) {
  return {
    record: await storedExecution(aws, taskId),
    messages: messages.filter((message) => message.task_id === taskId),
    events: events.filter((event) => event.detail.task_id === taskId && event["detail-type"] === "Task Stopped"),
  };
}

describe("the cleanup's duration guard", () => {
  it(
    "stops a task active longer than its limit once, with its reason, one message and one " +
      "event carrying the limit; a task under it, and tasks without a duration limit, run on",
    async () => {
      const over = await aTaskActiveFor(organizations.minute, 120);
      const under = await aTaskActiveFor(organizations.minute, 30);
      const tokensOnly = await aTaskActiveFor(organizations.tokensOnly, 4000);
      const withoutLimits = await aTaskActiveFor(`org-none-${randomUUID().slice(0, 8)}`, 4000);

      const reports = await runCleanupTwice();
      const messages = await drainStopMessages(aws);
      const events = await drainEvents(aws);

      expect(reports.map((report) => report.stoppedOverDurationLimit)).toEqual([1, 0]);
      const stopped = await outcomeOf(over, messages, events);
      expect(stopped.record).toMatchObject({
        status: "stopped",
        stop_reason: "duration_limit_exceeded",
        stopped_by: "guard:duration_limit",
        is_manually_stopped: false,
        version: 1,
      });
      expect(stopped.messages).toHaveLength(1);
      expect(stopped.messages[0]).toMatchObject({
        reason: "duration_limit_exceeded",
        requested_by: "guard:duration_limit",
        is_manually_stopped: false,
        limit: { limit_name: "max_duration_seconds", limit: 60 },
      });
      expect(stopped.messages[0]?.limit?.usage).toBeGreaterThan(60);
      expect(stopped.events).toHaveLength(1);
      expect(stopped.events[0]?.detail).toMatchObject({
        stop_reason: "duration_limit_exceeded",
        stopped_by: "guard:duration_limit",
        limit: { limit_name: "max_duration_seconds", limit: 60 },
      });
      for (const taskId of [under, tokensOnly, withoutLimits]) {
        const untouched = await outcomeOf(taskId, messages, events);
        expect(untouched.record).toMatchObject({ status: "executing" });
        expect(untouched.record).not.toHaveProperty("stop_reason");
        expect(untouched.messages).toEqual([]);
        expect(untouched.events).toEqual([]);
      }
    },
  );

  it("a task's own limit beats its organization's default, lower and higher", async () => {
    const lowered = await aTaskActiveFor(organizations.hour, 120, { max_duration_seconds: 60 });
    const raised = await aTaskActiveFor(organizations.minute, 120, { max_duration_seconds: 3600 });
    const ownLimitOnly = await aTaskActiveFor(`org-none-${randomUUID().slice(0, 8)}`, 120, {
      max_duration_seconds: 90,
    });

    await runCleanupTwice();
    const messages = await drainStopMessages(aws);
    const events = await drainEvents(aws);

    for (const [taskId, limit] of [
      [lowered, 60],
      [ownLimitOnly, 90],
    ] as const) {
      const { record, messages: own } = await outcomeOf(taskId, messages, events);
      expect(record).toMatchObject({
        status: "stopped",
        stop_reason: "duration_limit_exceeded",
        stopped_by: "guard:duration_limit",
      });
      expect(own).toHaveLength(1);
      expect(own[0]?.limit).toMatchObject({ limit_name: "max_duration_seconds", limit });
    }
    const { record, messages: none } = await outcomeOf(raised, messages, events);
    expect(record).toMatchObject({ status: "executing" });
    expect(none).toEqual([]);
  });

  it("never applies another organization's limit", async () => {
    // "minute" has a 60 s default; this task's organization has none, and it has run for an hour.
    const foreign = await aTaskActiveFor(`org-other-${randomUUID().slice(0, 8)}`, 3600);

    await runCleanupTwice();
    const { record, messages } = await outcomeOf(foreign, await drainStopMessages(aws), await drainEvents(aws));

    expect(record).toMatchObject({ status: "executing" });
    expect(messages).toEqual([]);
  });
});
