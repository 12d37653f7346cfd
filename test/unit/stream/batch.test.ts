import { describe, expect, it } from "vitest";
import { processExecutionStreamBatch } from "../../../lib/execution-stream.js";
import type { CascadeStore } from "../../../lib/executions/cascade-store.js";
import type { ExecutionRepository } from "../../../lib/executions/repository.js";
import type { TaskEvent } from "../../../lib/task-events.js";
import { aStreamRecord } from "../../support/stream-records.js";

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const stop = (n: number) =>
  aStreamRecord({
    old: { id: id(n), agent_id: "a", organization_id: "org-a", status: "executing" },
    new: { id: id(n), agent_id: "a", organization_id: "org-a", status: "stopped", stop_request_id: `request-${n}` },
  });

const unused = async () => {
  throw new Error("not used by records without sub-executions");
};

function deps(publish: (events: readonly TaskEvent[]) => Promise<void>) {
  return {
    cascade: {
      stop: {
        executions: {
          stop: unused,
          markSignalPending: unused,
          clearSignalPending: unused,
        } as unknown as ExecutionRepository,
        publishStopSignal: unused,
        now: () => new Date(),
      },
      store: { findParent: unused, advanceCursor: unused } as unknown as CascadeStore,
    },
    publishEvents: publish,
    settings: { childrenPerRecord: 25 },
    guards: {
      organizationLimits: async () => ({}),
      deadlines: { setDeadline: async () => true, retireDeadline: async () => true },
    },
    holds: {
      organizationIndex: { enter: async () => false, retire: async () => false },
      holds: { holdsInForce: async () => [], countHeld: async () => undefined },
    },
  };
}

describe("a batch of stream records", () => {
  it(
    "is handled in order, and stops at the first record that fails: " +
      "that record is reported, the ones after it are not tried",
    async () => {
      const records = [stop(1), stop(2), stop(3), stop(4)];
      const published: string[] = [];
      const response = await processExecutionStreamBatch(
        records,
        deps(async (events) => {
          const key = events[0]?.detail.idempotency_key ?? "";
          if (key === "request-2") throw new Error("bus unavailable");
          published.push(key);
        }),
      );

      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: records[1]?.dynamodb?.SequenceNumber }] });
      expect(published).toEqual(["request-1"]);
    },
  );

  it("reports nothing when every record was handled", async () => {
    const published: string[] = [];
    const response = await processExecutionStreamBatch(
      [stop(5), stop(6)],
      deps(async (events) => void published.push(...events.map((event) => event.detail.idempotency_key))),
    );
    expect(response).toEqual({ batchItemFailures: [] });
    expect(published).toEqual(["request-5", "request-6"]);
  });
});
