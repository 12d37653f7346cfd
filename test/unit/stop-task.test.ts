import { describe, expect, it } from "vitest";
import { type AgentExecution, agentExecutionSchema, stopTargetSchema } from "../../lib/execution.js";
import {
  type ExecutionRepository,
  InvalidStoredExecutionError,
  type StopTransition,
  type StopTransitionResult,
} from "../../lib/executions/repository.js";
import type { StopRequestDetails, StopSignalTarget } from "../../lib/signals/publisher.js";
import { CASCADE_STOP_REASON, type StopTaskDependencies, stopTask } from "../../lib/stop-task.js";

const NOW = new Date("2026-11-25T12:00:00.000Z");

function execution(overrides: Partial<AgentExecution> = {}): AgentExecution {
  return agentExecutionSchema.parse({
    id: "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e",
    agent_id: "agent-1",
    organization_id: "org-a",
    status: "stopped",
    created_at: "2026-11-25T11:00:00.000Z",
    stopped_at: "2026-11-25T11:30:00.000Z",
    stopped_by: "key-a",
    stop_reason: "user_requested",
    ...overrides,
  });
}

const stoppedNow = (stopped: AgentExecution): StopTransitionResult => ({
  kind: "stopped",
  target: stopTargetSchema.parse(stopped),
  record: { readable: true, execution: stopped },
});

const unchanged = (current: AgentExecution, signalPendingSince?: string): StopTransitionResult => ({
  kind: "unchanged",
  target: stopTargetSchema.parse(current),
  record: { readable: true, execution: current },
  stopped: current.status === "stopped",
  ...(signalPendingSince ? { signalPendingSince } : {}),
});

const unreadable = (result: StopTransitionResult): StopTransitionResult =>
  result.kind === "stopped" || result.kind === "unchanged"
    ? { ...result, record: { readable: false, error: new InvalidStoredExecutionError(result.target.id) } }
    : result;

/** In-memory ports that record what the core asked of them. */
function fakes(
  result: StopTransitionResult,
  options: { publishFails?: boolean; markFails?: boolean; unassigned?: boolean } = {},
) {
  const transitions: StopTransition[] = [];
  const published: { execution: StopSignalTarget; request: StopRequestDetails }[] = [];
  const marked: string[] = [];
  const cleared: string[] = [];
  const executions: ExecutionRepository = {
    stop: async (transition) => {
      transitions.push(transition);
      return result;
    },
    markSignalPending: async (taskId, since) => {
      if (options.markFails) throw new Error("dynamodb down");
      marked.push(`${taskId}@${since}`);
    },
    clearSignalPending: async (taskId, since) => void cleared.push(`${taskId}@${since}`),
  };
  const deps: StopTaskDependencies = {
    executions,
    publishStopSignal: async (stopped, request) => {
      if (options.publishFails) throw new Error("sqs down");
      published.push({ execution: stopped, request });
      return options.unassigned ? "unassigned" : "sent";
    },
    now: () => NOW,
  };
  return { deps, transitions, published, marked, cleared };
}

const userStop = (taskId = execution().id) => ({
  taskId,
  requester: { kind: "api_key" as const, organizationId: "org-a", keyId: "key-a" },
  reason: "user_requested",
});

describe("stopTask", () => {
  it("asks for a manual stop scoped to the caller's organization, and signals once", async () => {
    const stopped = execution();
    const { deps, transitions, published } = fakes(stoppedNow(stopped));

    const outcome = await stopTask(userStop(), deps);

    expect(outcome).toEqual({ kind: "stopped", execution: stopped, signal: "sent" });
    expect(transitions).toEqual([
      {
        taskId: stopped.id,
        organizationId: "org-a",
        requestedBy: "key-a",
        reason: "user_requested",
        isManuallyStopped: true,
        requestedAt: "2026-11-25T12:00:00.000000Z",
        signalDueAt: "2026-11-25T12:01:00.000000Z",
        stopRequestId: expect.any(String),
      },
    ]);
    expect(published).toEqual([
      {
        execution: stopTargetSchema.parse(stopped),
        request: {
          requestedAt: "2026-11-25T12:00:00.000000Z",
          requestedBy: "key-a",
          reason: "user_requested",
          note: null,
        },
      },
    ]);
  });

  it("stores the caller's own words as the stop's note and carries them in the signal", async () => {
    const stopped = execution({ stop_note: "wrong prompt, rerunning" });
    const { deps, transitions, published } = fakes(stoppedNow(stopped));

    await stopTask({ ...userStop(), note: "wrong prompt, rerunning" }, deps);

    expect(transitions[0]).toMatchObject({ reason: "user_requested", note: "wrong prompt, rerunning" });
    expect(published[0]?.request).toMatchObject({ reason: "user_requested", note: "wrong prompt, rerunning" });
  });

  it(
    "stops a sub-execution for the cascade: parent_stopped, by the " +
      "parent, in the parent's organization, with the parent's manual flag",
    async () => {
      const parentId = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
      const { deps, transitions } = fakes(
        stoppedNow(execution({ stopped_by: `parent_execution:${parentId}`, stop_reason: "parent_stopped" })),
      );

      await stopTask(
        {
          taskId: execution().id,
          requester: { kind: "cascade", organizationId: "org-a", parentTaskId: parentId, isManuallyStopped: true },
          reason: CASCADE_STOP_REASON,
          note: "the whole run was wrong",
        },
        deps,
      );

      expect(transitions[0]).toMatchObject({
        organizationId: "org-a",
        requestedBy: `parent_execution:${parentId}`,
        reason: "parent_stopped",
        note: "the whole run was wrong",
        isManuallyStopped: true,
      });
    },
  );

  it("stops for a system caller without an organization scope and without the manual flag", async () => {
    const { deps, transitions } = fakes(stoppedNow(execution({ stopped_by: "system:cleanup" })));

    await stopTask(
      {
        taskId: execution().id,
        requester: { kind: "system", requestedBy: "system:cleanup" },
        reason: "stale_heartbeat",
      },
      deps,
    );

    expect(transitions[0]).not.toHaveProperty("organizationId");
    expect(transitions[0]).toMatchObject({
      isManuallyStopped: false,
      requestedBy: "system:cleanup",
      reason: "stale_heartbeat",
    });
  });

  it.each([
    ["the cascade", { kind: "cascade", organizationId: "", parentTaskId: "p", isManuallyStopped: true }],
    ["a guard", { kind: "guard", organizationId: "", guard: "guard:token_limit" }],
    ["an API key", { kind: "api_key", organizationId: "", keyId: "key-a" }],
  ] as const)("refuses %s speaking for an empty organization before writing anything", async (_who, requester) => {
    const { deps, transitions } = fakes(stoppedNow(execution()));

    const outcome = await stopTask({ taskId: execution().id, requester, reason: "parent_stopped" }, deps);

    expect(outcome).toEqual({ kind: "forbidden" });
    expect(transitions).toEqual([]);
  });

  it("keeps the stop and marks the signal pending when the send fails", async () => {
    const { deps, marked } = fakes(stoppedNow(execution()), { publishFails: true });

    const outcome = await stopTask(userStop(), deps);

    expect(outcome).toMatchObject({ kind: "stopped", signal: "pending" });
    expect(marked).toEqual([`${execution().id}@2026-11-25T12:00:00.000000Z`]);
  });

  it("says so when no worker or environment runs the task yet, and marks nothing pending", async () => {
    const { deps, marked } = fakes(stoppedNow(execution({ status: "stopped", worker_id: null })), { unassigned: true });

    expect(await stopTask(userStop(), deps)).toMatchObject({ kind: "stopped", signal: "unassigned" });
    expect(marked).toEqual([]);
  });

  it("still accepts the stop when both the send and the marker fail, and says so", async () => {
    const { deps } = fakes(stoppedNow(execution()), { publishFails: true, markFails: true });
    expect(await stopTask(userStop(), deps)).toMatchObject({ kind: "stopped", signal: "unrecorded" });
  });

  it("re-sends a pending signal with the original request details, then clears the marker it saw", async () => {
    const stopped = execution();
    const since = "2026-11-25T11:30:00.000Z";
    const { deps, published, cleared } = fakes(unchanged(stopped, since));

    const outcome = await stopTask(userStop(), deps);

    expect(outcome).toEqual({ kind: "unchanged", execution: stopped, signal: "resent" });
    expect(published[0]?.request).toEqual({
      requestedAt: "2026-11-25T11:30:00.000000Z",
      requestedBy: "key-a",
      reason: "user_requested",
      note: null,
    });
    expect(cleared).toEqual([`${stopped.id}@${since}`]);
  });

  it("leaves the marker when the re-send fails again", async () => {
    const { deps, cleared } = fakes(unchanged(execution(), "2026-11-25T11:30:00.000Z"), { publishFails: true });
    expect(await stopTask(userStop(), deps)).toMatchObject({ kind: "unchanged", signal: "pending" });
    expect(cleared).toEqual([]);
  });

  it.each(["completed", "failed", "stopped"] as const)(
    "sends nothing for a %s execution without a pending signal",
    async (status) => {
      const { deps, published } = fakes(unchanged(execution({ status })));
      expect(await stopTask(userStop(), deps)).toMatchObject({ kind: "unchanged", signal: "none" });
      expect(published).toEqual([]);
    },
  );

  it.each([{ kind: "not_found" }, { kind: "forbidden" }] as const)(
    "passes $kind through and sends nothing",
    async (result) => {
      const { deps, published, marked } = fakes(result);
      expect(await stopTask(userStop(), deps)).toEqual(result);
      expect(published).toEqual([]);
      expect(marked).toEqual([]);
    },
  );

  describe("a record that breaks the public schema", () => {
    it("still signals the stop it made, then reports the record unreadable", async () => {
      const stopped = execution({ worker_id: "worker-9" });
      const { deps, published } = fakes(unreadable(stoppedNow(stopped)));

      const outcome = await stopTask(userStop(), deps);

      expect(outcome).toMatchObject({ kind: "unreadable", transition: "stopped", signal: "sent" });
      expect(outcome.kind === "unreadable" && outcome.error).toBeInstanceOf(InvalidStoredExecutionError);
      expect(published.map((entry) => entry.execution.worker_id)).toEqual(["worker-9"]);
    });

    it("marks the signal pending when the send fails", async () => {
      const { deps, marked } = fakes(unreadable(stoppedNow(execution())), { publishFails: true });
      expect(await stopTask(userStop(), deps)).toMatchObject({
        kind: "unreadable",
        transition: "stopped",
        signal: "pending",
      });
      expect(marked).toHaveLength(1);
    });

    it("re-sends a pending signal on a repeat, and sends nothing when none is owed", async () => {
      const owed = fakes(unreadable(unchanged(execution(), "2026-11-25T11:30:00.000Z")));
      expect(await stopTask(userStop(), owed.deps)).toMatchObject({
        kind: "unreadable",
        transition: "unchanged",
        signal: "resent",
      });
      expect(owed.published).toHaveLength(1);

      const settled = fakes(unreadable(unchanged(execution())));
      expect(await stopTask(userStop(), settled.deps)).toMatchObject({
        kind: "unreadable",
        transition: "unchanged",
        signal: "none",
      });
      expect(settled.published).toEqual([]);
    });
  });
});
