import { describe, expect, it } from "vitest";
import { runBulkStop } from "../../../lib/bulk-stop/processor.js";
import { runningStatuses } from "../../../lib/bulk-stop/scope.js";
import { type BulkStop, type BulkStopStore, noCounts, SHARD_DONE } from "../../../lib/bulk-stop/store.js";
import { agentExecutionSchema, stopTargetSchema } from "../../../lib/execution.js";
import type { ExecutionRepository, StopTransitionResult } from "../../../lib/executions/repository.js";
import { INDEX_SHARDS } from "../../../lib/resources.js";

const STOP_ID = "0b6f4a52-8c1e-4f0e-9d7a-2c3b4d5e6f70";

/** A task already stopped when the page reaches it, by `stoppedBy` with `stopReason`. */
function alreadyStopped(id: string, stoppedBy: string, stopReason: string): StopTransitionResult {
  const current = agentExecutionSchema.parse({
    id,
    agent_id: "agent-1",
    organization_id: "org-a",
    status: "stopped",
    created_at: "2026-11-25T11:00:00.000Z",
    stopped_at: "2026-11-25T11:30:00.000Z",
    stopped_by: stoppedBy,
    stop_reason: stopReason,
  });
  return {
    kind: "unchanged",
    target: stopTargetSchema.parse(current),
    record: { readable: true, execution: current },
    stopped: true,
  };
}

/** One bulk stop in memory, with one page of tasks on shard 0 and nothing on the others. */
function inMemory(outcomes: Record<string, StopTransitionResult>) {
  let bulkStop: BulkStop = {
    stop_id: STOP_ID,
    organization_id: "org-a",
    scope: { agent_id: "agent-1", statuses: [...runningStatuses] },
    reason: null,
    status: "running",
    created_at: "2026-11-25T11:00:00.000000Z",
    created_by: "key-a",
    hold_until: "2026-11-25T12:00:00.000000Z",
    hold_ended_at: null,
    completed_at: null,
    failed_task_ids: [],
    ...noCounts,
    shards: Array.from({ length: INDEX_SHARDS }, (_, shard) => ({ cursor: shard === 0 ? "" : SHARD_DONE, version: 0 })),
  };
  const store: BulkStopStore = {
    findByIdempotencyKey: async () => undefined,
    create: async () => ({ kind: "created" }),
    get: async () => bulkStop,
    beginShardPage: async (_id, shard, seen, page) => {
      const shards = bulkStop.shards.map((each, index) =>
        index === shard ? { ...each, version: seen + 1, inFlight: page } : each,
      );
      bulkStop = { ...bulkStop, shards };
      return true;
    },
    saveShardPage: async (_id, shard, seen, next, page) => {
      const shards = bulkStop.shards.map((each, index) =>
        index === shard ? { cursor: next, version: seen + 1 } : each,
      );
      bulkStop = {
        ...bulkStop,
        shards,
        matched: bulkStop.matched + page.matched,
        stopped: bulkStop.stopped + page.stopped,
        already_terminal: bulkStop.already_terminal + page.already_terminal,
        failed: bulkStop.failed + page.failed,
      };
      return true;
    },
    countHeld: async () => undefined,
    complete: async (_id, at) => {
      bulkStop = { ...bulkStop, status: "done", completed_at: at };
      return true;
    },
    endHold: async () => undefined,
    holdsInForce: async () => [],
  };
  const executions: ExecutionRepository = {
    stop: async (transition) => outcomes[transition.taskId] ?? { kind: "not_found" },
    markSignalPending: async () => undefined,
    clearSignalPending: async () => undefined,
  };
  return {
    store,
    deps: {
      store,
      tasks: {
        page: async () => ({ taskIds: Object.keys(outcomes) }),
        count: async () => Object.keys(outcomes).length,
      },
      stop: { executions, publishStopSignal: async () => "sent" as const, now: () => new Date() },
      publishEvents: async () => undefined,
      now: () => new Date("2026-11-25T12:00:00.000Z"),
      timeLeftMs: () => 60_000,
    },
  };
}

describe("a bulk stop's run", () => {
  it(
    "counts a task its own hold stopped as already terminal (the hold counted it as held), " +
      "one an earlier run of it stopped as stopped, and another stop as already terminal",
    async () => {
      const { deps } = inMemory({
        "11111111-1111-4111-8111-111111111111": alreadyStopped(
          "11111111-1111-4111-8111-111111111111",
          `bulk:${STOP_ID}`,
          "held",
        ),
        "22222222-2222-4222-8222-222222222222": alreadyStopped(
          "22222222-2222-4222-8222-222222222222",
          `bulk:${STOP_ID}`,
          "bulk_stop",
        ),
        "33333333-3333-4333-8333-333333333333": alreadyStopped(
          "33333333-3333-4333-8333-333333333333",
          "key-b",
          "user_requested",
        ),
      });
      const result = await runBulkStop(STOP_ID, deps);
      expect(result.kind).toBe("done");
      expect(result.kind === "done" ? result.bulkStop : undefined).toMatchObject({
        matched: 3,
        stopped: 1,
        already_terminal: 2,
        failed: 0,
      });
    },
  );
});
