import { randomUUID } from "node:crypto";
import { UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import * as fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { putOrganizationLimits, setTaskLimits } from "../../../lib/executions/limits-store.js";
import { crossedLimit, effectiveLimits, guards, type Limits, readUsage } from "../../../lib/limits.js";
import { type ExecutionStreamHarness, startExecutionStream } from "../../support/execution-stream-harness.js";
import { anExecution } from "../../support/factories.js";
import { type LocalAws, provisionIsolatedStack, putItem } from "../../support/local-aws.js";
import { drainEvents, drainStopMessages, storedExecution } from "../../support/task-tree.js";

/**
 * Property: for a random stream of usage updates (tokens, tool calls, duration; floats and nulls
 * as the platform's writer stores them) and changes of the task's own limits, over random
 * organization defaults, the task ends stopped if and only if some write put it over a limit in
 * force at that moment (strictly over; its own limit beating the default), with the reason of
 * that limit, one stop message and one Task Stopped event. Each write is settled before the next,
 * so "at that moment" is well defined. fast-check prints the seed and the shrunk stream on failure.
 */

const NUM_RUNS = 20;

let aws: LocalAws;
let stream: ExecutionStreamHarness;

/**
 * The organizations' defaults the runs draw from, written before the stream poller starts (see
 * test/integration/guards/guards.test.ts: DynamoDB Local's stream iterator breaks on a write to
 * the limits table while it is held).
 */
const defaultsChoices: readonly (Limits | undefined)[] = [
  undefined,
  { max_tokens: 30 },
  { max_tool_calls: 3 },
  { max_duration_seconds: 35 },
  { max_tokens: 50, max_tool_calls: 5, max_duration_seconds: 50 },
  { max_tokens: 0 },
];
const organizationIds = defaultsChoices.map((_, index) => `org-${index}-${randomUUID().slice(0, 8)}`);

beforeAll(async () => {
  aws = await provisionIsolatedStack();
  for (const [index, defaults] of defaultsChoices.entries()) {
    if (defaults)
      await putOrganizationLimits(aws.dynamoDb, aws.resources.tables.limits, organizationIds[index] ?? "", defaults);
  }
  stream = await startExecutionStream(aws);
});

afterAll(async () => {
  await stream?.stop();
});

const limitValue = fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined });
const limitsArbitrary: fc.Arbitrary<Limits> = fc.record({
  max_tokens: limitValue,
  max_tool_calls: limitValue,
  max_duration_seconds: limitValue,
});

type Usage = {
  tokens: { prompt_tokens: number | null; completion_tokens: number | null } | null;
  used_tools: string[] | null;
  duration: number | null;
};
type Step = { readonly kind: "usage"; readonly usage: Usage } | { readonly kind: "limits"; readonly limits: Limits };

const usageArbitrary: fc.Arbitrary<Usage> = fc.record({
  tokens: fc.option(
    fc.record({
      prompt_tokens: fc.option(fc.integer({ min: 0, max: 40 }), { nil: null }),
      completion_tokens: fc.option(fc.integer({ min: 0, max: 40 }), { nil: null }),
    }),
    { nil: null },
  ),
  used_tools: fc.option(fc.array(fc.constantFrom("search", "fetch"), { maxLength: 8 }), { nil: null }),
  duration: fc.option(
    fc.oneof(
      fc.integer({ min: 0, max: 70 }),
      fc.integer({ min: 0, max: 7000 }).map((hundredths) => hundredths / 100),
    ),
    { nil: null },
  ),
});
const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: usageArbitrary.map((usage) => ({ kind: "usage" as const, usage })) },
  { weight: 1, arbitrary: limitsArbitrary.map((limits) => ({ kind: "limits" as const, limits })) },
);

async function writeUsage(taskId: string, usage: Usage): Promise<void> {
  await aws.dynamoDb.send(
    new UpdateItemCommand({
      TableName: aws.resources.tables.executions,
      Key: { id: { S: taskId } },
      UpdateExpression: "SET tokens = :tokens, used_tools = :used_tools, #duration = :duration",
      ExpressionAttributeNames: { "#duration": "duration" },
      ExpressionAttributeValues: marshall({
        ":tokens": usage.tokens,
        ":used_tools": usage.used_tools,
        ":duration": usage.duration,
      }),
    }),
  );
}

/**
 * Every counterexample this property has found, run first every time. A writer that reports tools alone (tokens and
 * duration null) past the organization's `max_tool_calls` of 3: the stream's filter let no such record through.
 */
const foundCounterexamples: [number, Step[]][] = [
  [
    2,
    [{ kind: "usage", usage: { tokens: null, used_tools: ["search", "search", "search", "search"], duration: null } }],
  ],
  // Issue 25's report: seed 1852640118, path 8:8:8:12:17:17:17:17:1:3:2:8 (the same crossing, then usage cleared).
  [
    2,
    [
      { kind: "usage", usage: { tokens: null, used_tools: ["search", "search", "search", "search"], duration: null } },
      { kind: "usage", usage: { tokens: null, used_tools: null, duration: null } },
    ],
  ],
];

describe("runaway guards over random usage and limit changes", () => {
  it("stop a task if and only if a write crossed a limit in force, once, with that limit's reason", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: defaultsChoices.length - 1 }),
        fc.array(stepArbitrary, { minLength: 1, maxLength: 6 }),
        async (choice, steps) => {
          const defaults = defaultsChoices[choice];
          const organizationId = organizationIds[choice] ?? "";
          const execution = anExecution({ organization_id: organizationId });
          const taskId = execution.id as string;
          await putItem(aws.dynamoDb, aws.resources.tables.executions, execution);

          // The model: the usage and own limits stored now, and the first crossing.
          let usage: Usage = { tokens: null, used_tools: null, duration: null };
          let own: Limits | undefined;
          let expectedReason: string | undefined;
          for (const step of steps) {
            if (step.kind === "usage") {
              usage = step.usage;
              await writeUsage(taskId, step.usage);
            } else {
              own = step.limits;
              await setTaskLimits(aws.dynamoDb, aws.resources.tables.executions, {
                taskId,
                organizationId,
                limits: step.limits,
              });
            }
            await stream.settled();
            if (expectedReason === undefined) {
              const crossing = crossedLimit(readUsage(usage), effectiveLimits(own, defaults));
              if (crossing) expectedReason = guards[crossing.limit_name].reason;
            }
          }

          const record = await storedExecution(aws, taskId);
          const messages = (await drainStopMessages(aws)).filter((message) => message.task_id === taskId);
          const events = (await drainEvents(aws)).filter(
            (event) => event.detail.task_id === taskId && event["detail-type"] === "Task Stopped",
          );
          if (expectedReason === undefined) {
            expect(record).toMatchObject({ status: "executing" });
            expect(messages).toEqual([]);
            expect(events).toEqual([]);
          } else {
            expect(record).toMatchObject({
              status: "stopped",
              stop_reason: expectedReason,
              is_manually_stopped: false,
              version: 1,
            });
            expect(messages.map((message) => message.reason)).toEqual([expectedReason]);
            expect(events.map((event) => event.detail.stop_reason)).toEqual([expectedReason]);
          }
        },
      ),
      { numRuns: NUM_RUNS, examples: foundCounterexamples },
    );
  }, 180_000);
});
