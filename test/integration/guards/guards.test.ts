import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTaskLimits } from "../../../lib/executions/limits-store.js";
import type { Limits } from "../../../lib/limits.js";
import type { ExecutionStreamHarness } from "../../support/execution-stream-harness.js";
import { anExecution } from "../../support/factories.js";
import { type LocalAws, putItem, writeFields } from "../../support/local-aws.js";
import { organizationsNamed, startStackWithLimits } from "../../support/organization-limits.js";
import { drainEvents, drainStopMessages, storedExecution } from "../../support/task-tree.js";

let aws: LocalAws;
let stream: ExecutionStreamHarness;

/** Every organization's defaults, written once before the stream processor starts. */
const organizationDefaults = {
  tokens: { max_tokens: 1000 },
  tools: { max_tool_calls: 2 },
  duration: { max_duration_seconds: 60 },
  limited: { max_tokens: 100, max_tool_calls: 1, max_duration_seconds: 10 },
  lowered: { max_tokens: 1000 },
  raised: { max_tokens: 100 },
  strict: { max_tokens: 1, max_tool_calls: 0, max_duration_seconds: 1 },
} as const satisfies Record<string, Limits>;
const organizations = organizationsNamed(organizationDefaults);

beforeAll(async () => {
  ({ aws, stream } = await startStackWithLimits(organizations, organizationDefaults));
});

afterAll(async () => {
  await stream?.stop();
});

/** An organization per test: the guards' short cache of an organization's limits never leaks between tests. */
function anOrganization(name?: keyof typeof organizationDefaults): string {
  return name ? organizations[name] : `org-${randomUUID().slice(0, 8)}`;
}

async function aRunningTask(organizationId: string, fields: Record<string, unknown> = {}): Promise<string> {
  const execution = anExecution({ organization_id: organizationId, ...fields });
  await putItem(aws.dynamoDb, aws.resources.tables.executions, execution);
  return execution.id as string;
}

/** The platform's usage write, as its Python writer makes it: any subset of the three, floats and nulls allowed. */
async function reportUsage(
  taskId: string,
  usage: { tokens?: unknown; used_tools?: unknown; duration?: unknown },
): Promise<void> {
  await writeFields(aws, taskId, usage);
}

async function outcomeOf(taskId: string) {
  await stream.settled();
  const record = await storedExecution(aws, taskId);
  const messages = (await drainStopMessages(aws)).filter((message) => message.task_id === taskId);
  const events = (await drainEvents(aws)).filter(
    (event) => event.detail.task_id === taskId && event["detail-type"] === "Task Stopped",
  );
  return { record, messages, events };
}

const tokens = (prompt: number, completion: number) => ({ prompt_tokens: prompt, completion_tokens: completion });

describe("a task over a limit is stopped once, by its guard", () => {
  const cases = [
    {
      limit: "max_tokens",
      reason: "token_limit_exceeded",
      guard: "guard:token_limit",
      organization: "tokens",
      under: { tokens: tokens(600, 400) },
      over: { tokens: tokens(600, 401) },
      crossing: { limit_name: "max_tokens", limit: 1000, usage: 1001 },
    },
    {
      limit: "max_tool_calls",
      reason: "tool_call_limit_exceeded",
      guard: "guard:tool_call_limit",
      organization: "tools",
      under: { used_tools: ["search", "fetch"], tokens: tokens(1, 1) },
      over: { used_tools: ["search", "fetch", "search"], tokens: tokens(2, 2) },
      crossing: { limit_name: "max_tool_calls", limit: 2, usage: 3 },
    },
    {
      limit: "max_duration_seconds",
      reason: "duration_limit_exceeded",
      guard: "guard:duration_limit",
      organization: "duration",
      under: { duration: 60 },
      over: { duration: 60.5 },
      crossing: { limit_name: "max_duration_seconds", limit: 60, usage: 60.5 },
    },
  ] as const;

  for (const example of cases) {
    it(
      `${example.limit}: at the limit it runs on; past it, it is stopped with ` +
        `${example.reason}, one message and one Task Stopped carrying the limit`,
      async () => {
        const organizationId = anOrganization(example.organization);
        const taskId = await aRunningTask(organizationId);

        await reportUsage(taskId, example.under);
        const atLimit = await outcomeOf(taskId);
        expect(atLimit.record).toMatchObject({ status: "executing" });
        expect(atLimit.messages).toEqual([]);

        await reportUsage(taskId, example.over);
        // More usage after the stop (the worker had not heard yet) changes nothing.
        await stream.settled();
        await reportUsage(taskId, { tokens: tokens(5000, 5000), used_tools: ["a", "b", "c", "d"], duration: 999 });
        const { record, messages, events } = await outcomeOf(taskId);
        expect(record).toMatchObject({
          status: "stopped",
          stop_reason: example.reason,
          stopped_by: example.guard,
          is_manually_stopped: false,
          version: 1,
        });
        expect(messages).toHaveLength(1);
        expect(messages[0]).toMatchObject({
          reason: example.reason,
          requested_by: example.guard,
          is_manually_stopped: false,
          limit: example.crossing,
        });
        expect(events).toHaveLength(1);
        expect(events[0]?.detail).toMatchObject({
          stop_reason: example.reason,
          stopped_by: example.guard,
          is_manually_stopped: false,
          limit: example.crossing,
        });
      },
    );
  }
});

describe("usage at or under the limits in force never stops a task", () => {
  it(
    "leaves a task at every limit, with usage stored as floats and " +
      "nulls, and a task of an organization without limits, untouched",
    async () => {
      const limited = anOrganization("limited");
      const unlimited = anOrganization();
      const atLimits = await aRunningTask(limited);
      const noLimits = await aRunningTask(unlimited);
      await reportUsage(atLimits, {
        tokens: { prompt_tokens: 100.0, completion_tokens: null },
        used_tools: ["search"],
        duration: 10.0,
      });
      await reportUsage(noLimits, {
        tokens: tokens(1_000_000, 1_000_000),
        used_tools: Array.from({ length: 50 }, () => "search"),
        duration: 86_400,
      });
      for (const taskId of [atLimits, noLimits]) {
        const { record, messages, events } = await outcomeOf(taskId);
        expect(record).toMatchObject({ status: "executing" });
        expect(record).not.toHaveProperty("stop_reason");
        expect(messages).toEqual([]);
        expect(events).toEqual([]);
      }
    },
  );
});

describe("a task's own limit beats its organization's default", () => {
  it("a lower override stops a task the default would let run", async () => {
    const organizationId = anOrganization("lowered");
    const taskId = await aRunningTask(organizationId);
    await setTaskLimits(aws.dynamoDb, aws.resources.tables.executions, {
      taskId,
      organizationId,
      limits: { max_tokens: 100 },
    });
    await reportUsage(taskId, { tokens: tokens(100, 1) });
    const { record, messages } = await outcomeOf(taskId);
    expect(record).toMatchObject({ status: "stopped", stop_reason: "token_limit_exceeded" });
    expect(messages).toHaveLength(1);
    expect(messages[0]?.limit).toEqual({ limit_name: "max_tokens", limit: 100, usage: 101 });
  });

  it("a higher override lets a task run past the default", async () => {
    const organizationId = anOrganization("raised");
    const taskId = await aRunningTask(organizationId);
    await setTaskLimits(aws.dynamoDb, aws.resources.tables.executions, {
      taskId,
      organizationId,
      limits: { max_tokens: 10_000 },
    });
    await reportUsage(taskId, { tokens: tokens(5000, 5000) });
    const { record, messages } = await outcomeOf(taskId);
    expect(record).toMatchObject({
      status: "executing",
      limits: { max_tokens: 10_000, max_tool_calls: null, max_duration_seconds: null },
    });
    expect(messages).toEqual([]);
  });
});

describe("limits of another organization never apply", () => {
  it("leaves a task alone whatever another organization's defaults say", async () => {
    const strict = anOrganization("strict");
    const lenient = anOrganization();
    const taskId = await aRunningTask(lenient);
    await reportUsage(taskId, { tokens: tokens(500, 500), used_tools: ["search"], duration: 100 });
    const { record, messages } = await outcomeOf(taskId);
    expect(strict).not.toBe(lenient);
    expect(record).toMatchObject({ status: "executing" });
    expect(messages).toEqual([]);
  });

  it("refuses to set limits on another organization's task, and changes nothing", async () => {
    const owner = anOrganization();
    const other = anOrganization();
    const taskId = await aRunningTask(owner, { tokens: tokens(500, 500) });
    await stream.settled();
    const before = await storedExecution(aws, taskId);
    const result = await setTaskLimits(aws.dynamoDb, aws.resources.tables.executions, {
      taskId,
      organizationId: other,
      limits: { max_tokens: 1 },
    });
    expect(result).toEqual({ kind: "forbidden" });
    const missing = await setTaskLimits(aws.dynamoDb, aws.resources.tables.executions, {
      taskId: randomUUID(),
      organizationId: owner,
      limits: { max_tokens: 1 },
    });
    expect(missing).toEqual({ kind: "not_found" });
    const { record, messages } = await outcomeOf(taskId);
    expect(record).toEqual(before);
    expect(messages).toEqual([]);
  });
});

describe("a limit lowered below what a task already spent", () => {
  it("stops the task at once", async () => {
    const organizationId = anOrganization();
    const taskId = await aRunningTask(organizationId);
    await reportUsage(taskId, { tokens: tokens(400, 100), used_tools: ["search", "fetch"] });
    expect((await outcomeOf(taskId)).record).toMatchObject({ status: "executing" });

    await setTaskLimits(aws.dynamoDb, aws.resources.tables.executions, {
      taskId,
      organizationId,
      limits: { max_tool_calls: 1 },
    });
    const { record, messages, events } = await outcomeOf(taskId);
    expect(record).toMatchObject({
      status: "stopped",
      stop_reason: "tool_call_limit_exceeded",
      stopped_by: "guard:tool_call_limit",
      is_manually_stopped: false,
    });
    expect(messages).toHaveLength(1);
    expect(events).toHaveLength(1);
    expect(events[0]?.detail.limit).toEqual({ limit_name: "max_tool_calls", limit: 1, usage: 2 });
  });
});
