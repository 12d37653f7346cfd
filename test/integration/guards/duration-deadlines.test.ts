import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { NO_DEADLINE } from "../../../lib/executions/deadlines.js";
import { livenessIndexKeys } from "../../../lib/executions/indexes.js";
import { putOrganizationLimits } from "../../../lib/executions/limits-store.js";
import type { Limits } from "../../../lib/limits.js";
import { countAwsCalls } from "../../support/aws-call-counter.js";
import { cleanupHarness } from "../../support/cleanup-harness.js";
import type { ExecutionStreamHarness } from "../../support/execution-stream-harness.js";
import { anExecution } from "../../support/factories.js";
import { type LocalAws, localDynamoDbClient, putItem } from "../../support/local-aws.js";
import {
  aTaskActiveFor,
  organizationsNamed,
  secondsAgo,
  startStackWithLimits,
} from "../../support/organization-limits.js";
import { stopTaskHarness } from "../../support/stop-task-harness.js";
import { drainStopMessages, storedExecution } from "../../support/task-tree.js";

/**
 * The cleanup reaches what is due, however many healthy tasks run beside it (issue 24, items 5-7):
 * each running task's duration deadline is indexed bookkeeping (the stream processor writes it),
 * and a run reads the tasks whose deadline has passed, and the ones past the 6-hour backstop.
 */

const stacks: ExecutionStreamHarness[] = [];
afterAll(async () => {
  await Promise.all(stacks.map((stream) => stream.stop()));
});

async function stackWith<Name extends string>(defaults: Record<Name, Limits>) {
  const organizations = organizationsNamed(defaults);
  const { aws, stream } = await startStackWithLimits(organizations, defaults);
  stacks.push(stream);
  return { aws, stream, organizations };
}

function countedCleanup(aws: LocalAws, maxItemsPerRun = 200) {
  const dynamoDb = localDynamoDbClient();
  const counter = countAwsCalls(dynamoDb);
  const run = cleanupHarness(aws, stopTaskHarness(aws), {
    dynamoDb,
    settings: { signalAckTimeoutMs: 60_000, maxItemsPerRun },
  });
  return { run, counter };
}

describe("the cleanup reaches every overdue task however many healthy ones run", () => {
  it("stops the tasks past 600 s, past 3,600 s, past their own limit and past 6 h within two runs of 200 items, " +
    "beside 210 healthy tasks older than the shortest default; a steady run reads only what is due", async () => {
    const { aws, stream, organizations } = await stackWith({
      tenMinutes: { max_duration_seconds: 600 },
      hourA: { max_duration_seconds: 3600 },
      hourB: { max_duration_seconds: 3600 },
      hourC: { max_duration_seconds: 3600 },
      none: {},
    });
    const hourly = [organizations.hourA, organizations.hourB, organizations.hourC];
    const healthy = await Promise.all(
      Array.from({ length: 210 }, (_, index) =>
        aTaskActiveFor(aws, hourly[index % 3] as string, 700 + ((index * 13) % 2800)),
      ),
    );
    const healthyWithOwnLimits = await Promise.all(
      Array.from({ length: 5 }, () => aTaskActiveFor(aws, organizations.hourB, 120, { max_duration_seconds: 7200 })),
    );
    const overdue = {
      pastTenMinutes: await aTaskActiveFor(aws, organizations.tenMinutes, 700),
      pastAnHour: await aTaskActiveFor(aws, organizations.hourA, 3700),
      pastOwnLimit: await aTaskActiveFor(aws, organizations.hourC, 120, { max_duration_seconds: 60 }),
      pastSixHours: await aTaskActiveFor(aws, organizations.none, 6 * 3600 + 60),
    };
    await stream.settled();

    const { run, counter } = countedCleanup(aws);
    const reports = [await run(), await run()];
    await stream.settled();

    const expectations = {
      pastTenMinutes: { stop_reason: "duration_limit_exceeded", limit: 600 },
      pastAnHour: { stop_reason: "duration_limit_exceeded", limit: 3600 },
      pastOwnLimit: { stop_reason: "duration_limit_exceeded", limit: 60 },
      pastSixHours: { stop_reason: "max_duration_exceeded" },
    } as const;
    for (const [name, expected] of Object.entries(expectations) as [
      keyof typeof overdue,
      { stop_reason: string; limit?: number },
    ][]) {
      const record = await storedExecution(aws, overdue[name]);
      expect(record, name).toMatchObject({ status: "stopped", stop_reason: expected.stop_reason });
      if (expected.limit !== undefined)
        expect(record?.stop_limit, name).toMatchObject({ limit_name: "max_duration_seconds", limit: expected.limit });
    }
    expect(reports.map((report) => report.truncated)).toEqual([false, false]);
    for (const taskId of [...healthy, ...healthyWithOwnLimits])
      expect(await storedExecution(aws, taskId)).toMatchObject({ status: "executing" });
    const messages = (await drainStopMessages(aws)).map((message) => message.task_id);
    expect(messages.sort()).toEqual(Object.values(overdue).sort());

    // The steady state: nothing is due, and a run reads no healthy task, one page per shard and job.
    counter.reset();
    const steady = await run();
    expect(steady).toMatchObject({ truncated: false, stoppedOverDurationLimit: 0, stoppedOverlong: 0 });
    expect(counter.itemsRead(aws.resources.tables.executions)).toBe(0);
    expect(counter.calls.filter((call) => call === "QueryCommand").length).toBeLessThanOrEqual(16);
  }, 120_000);

  it("a task that names no organization is stopped by no guard, and never read as due", async () => {
    const { aws, stream } = await stackWith({ any: { max_duration_seconds: 600 } });
    const orphans: string[] = [];
    for (const organization of ["", null, undefined]) {
      const { organization_id: _organization, ...execution } = anExecution({
        started_at: secondsAgo(900),
        heartbeat_at: secondsAgo(1),
        limits: { max_tokens: null, max_duration_seconds: 60, max_tool_calls: null },
      });
      const record = organization === undefined ? execution : { ...execution, organization_id: organization };
      await putItem(aws.dynamoDb, aws.resources.tables.executions, {
        ...record,
        ...livenessIndexKeys({
          id: String(execution.id),
          status: "executing",
          started_at: execution.started_at,
          heartbeat_at: execution.heartbeat_at,
        }),
      });
      orphans.push(String(execution.id));
    }
    await stream.settled();

    const { run, counter } = countedCleanup(aws);
    await run();
    counter.reset();
    const steady = await run();

    for (const taskId of orphans) {
      expect(await storedExecution(aws, taskId)).toMatchObject({ status: "executing", idx_deadline_at: NO_DEADLINE });
    }
    expect(steady).toMatchObject({ stoppedOverDurationLimit: 0, failures: 0 });
    expect(counter.itemsRead(aws.resources.tables.executions)).toBe(0);
  });

  it("a task whose organization's default rose is not stopped, and leaves the due range", async () => {
    const { aws, stream, organizations } = await stackWith({ rising: { max_duration_seconds: 600 } });
    const taskId = await aTaskActiveFor(aws, organizations.rising, 700);
    await stream.settled();
    const tenSecondsAgo = new Date(Date.now() - 10_000);
    await putOrganizationLimits(
      aws.dynamoDb,
      aws.resources.tables.limits,
      organizations.rising,
      { max_duration_seconds: 3600 },
      tenSecondsAgo,
    );

    const { run, counter } = countedCleanup(aws);
    const first = await run();
    expect(first.stoppedOverDurationLimit).toBe(0);
    const record = await storedExecution(aws, taskId);
    expect(record).toMatchObject({ status: "executing" });
    const since = Date.parse(String(record?.idx_active_since));
    expect(Date.parse(String(record?.idx_deadline_at))).toBe(since + 3601_000);

    counter.reset();
    await run();
    expect(counter.itemsRead(aws.resources.tables.executions)).toBe(0);
  });

  it("a lowered default makes its organization's running tasks due", async () => {
    const { aws, stream, organizations } = await stackWith({ lowering: { max_duration_seconds: 3600 } });
    const taskId = await aTaskActiveFor(aws, organizations.lowering, 700);
    const other = await aTaskActiveFor(aws, organizations.lowering, 300);
    await stream.settled();
    await putOrganizationLimits(
      aws.dynamoDb,
      aws.resources.tables.limits,
      organizations.lowering,
      { max_duration_seconds: 600 },
      new Date(Date.now() - 10_000),
    );

    const { run } = countedCleanup(aws);
    await run();
    await run();

    expect(await storedExecution(aws, taskId)).toMatchObject({
      status: "stopped",
      stop_reason: "duration_limit_exceeded",
      stop_limit: { limit_name: "max_duration_seconds", limit: 600 },
    });
    expect(await storedExecution(aws, other)).toMatchObject({ status: "executing" });
  });
});

describe("a run cut short is taken up where it stopped", () => {
  it("works through 25 due tasks with a budget of 10 a run: 10, 10, then 5, and nothing left truncated", async () => {
    const { aws, stream, organizations } = await stackWith({ minute: { max_duration_seconds: 60 } });
    const due = await Promise.all(Array.from({ length: 25 }, () => aTaskActiveFor(aws, organizations.minute, 120)));
    await stream.settled();

    const { run } = countedCleanup(aws, 10);
    const reports = [await run(), await run(), await run()];

    expect(reports.map((report) => report.stoppedOverDurationLimit)).toEqual([10, 10, 5]);
    expect(reports.map((report) => report.truncated)).toEqual([true, true, false]);
    for (const taskId of due) expect(await storedExecution(aws, taskId)).toMatchObject({ status: "stopped" });
  });

  it("a finished task that another writer left in the liveness indexes has its deadline removed, once", async () => {
    const { aws, organizations } = await stackWith({ minute: { max_duration_seconds: 60 } });
    const execution = anExecution({
      organization_id: organizations.minute,
      status: "completed",
      started_at: secondsAgo(120),
      heartbeat_at: secondsAgo(1),
    });
    const keys = livenessIndexKeys({ ...execution, status: "executing" });
    await putItem(aws.dynamoDb, aws.resources.tables.executions, {
      ...execution,
      ...keys,
      idx_deadline_at: secondsAgo(59),
    });

    const { run, counter } = countedCleanup(aws);
    await run();
    const record = await storedExecution(aws, execution.id as string);
    expect(record).toMatchObject({ status: "completed" });
    expect(record).not.toHaveProperty("idx_deadline_at");
    counter.reset();
    await run();
    expect(counter.itemsRead(aws.resources.tables.executions)).toBe(0);
  });
});

describe("limits beyond what the code computes with", () => {
  it(
    "a stored default of 9007199254740991 seconds, the shortest in force, fails no run: the own-limit " +
      "guard and the 6-hour backstop still stop what is due",
    async () => {
      const { aws, stream, organizations } = await stackWith({
        huge: { max_duration_seconds: Number.MAX_SAFE_INTEGER },
      });
      const ownLimit = await aTaskActiveFor(aws, organizations.huge, 120, { max_duration_seconds: 60 });
      const pastSixHours = await aTaskActiveFor(aws, organizations.huge, 6 * 3600 + 60);
      const elsewhere = await aTaskActiveFor(aws, `org-none-${randomUUID().slice(0, 8)}`, 6 * 3600 + 60);
      const healthy = await aTaskActiveFor(aws, organizations.huge, 3 * 3600);
      await stream.settled();

      const report = await countedCleanup(aws).run();

      expect(report).toMatchObject({ stoppedOverDurationLimit: 1, stoppedOverlong: 2, failures: 0 });
      expect(await storedExecution(aws, ownLimit)).toMatchObject({ stop_reason: "duration_limit_exceeded" });
      for (const taskId of [pastSixHours, elsewhere])
        expect(await storedExecution(aws, taskId)).toMatchObject({ stop_reason: "max_duration_exceeded" });
      expect(await storedExecution(aws, healthy)).toMatchObject({ status: "executing" });
    },
  );
});
