import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import { agentExecutionSchema, stopTargetSchema } from "../../../lib/execution.js";
import { stopTargetOf } from "../../../lib/executions/repository.js";

const TASK_ID = "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e";

const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined, freq: 3 });
const nullable = <T>(arbitrary: fc.Arbitrary<T>) => maybe(fc.oneof(arbitrary, fc.constant(null)));
const timestamps = fc.constantFrom(
  "2026-11-25T10:05:00.000Z",
  "2026-11-25T10:05:00Z",
  "2026-11-25T10:05:00.123456Z",
  "2026-11-25T12:05:00+02:00",
);

/** Stored items as the platform's writers leave them: fields absent, null or set, timestamps in any ISO form. */
const storedItems = fc.record(
  {
    id: fc.constant(TASK_ID),
    agent_id: fc.constantFrom("agent-1", "agent-research"),
    organization_id: fc.constantFrom("org-a", "org-b"),
    status: fc.constantFrom("executing", "stopped", "completed"),
    created_at: timestamps,
    worker_id: nullable(fc.constantFrom("worker-7", "worker-8")),
    environment_id: nullable(fc.constantFrom("env-1")),
    is_manually_stopped: nullable(fc.boolean()),
    stopped_at: nullable(timestamps),
    stopped_by: nullable(fc.constantFrom("key_1", "cleanup")),
    stop_reason: nullable(fc.constantFrom("user_requested", "max_duration")),
    stop_note: nullable(fc.string({ maxLength: 20 })),
  },
  { requiredKeys: ["id", "agent_id", "organization_id", "status", "created_at"] },
);

describe("a stop's routing fields read from the record it parsed", () => {
  it("are the ones stopTargetSchema reads from the stored item, for every readable record", () => {
    fc.assert(
      fc.property(storedItems, (item) => {
        const record = agentExecutionSchema.safeParse(item);
        fc.pre(record.success);
        if (!record.success) return;

        expect(stopTargetOf(TASK_ID, record.data)).toStrictEqual(stopTargetSchema.parse({ ...item, id: TASK_ID }));
      }),
      { numRuns: 300 },
    );
  });
});
