import { describe, expect, it } from "vitest";
import { agentExecutionSchema } from "../../../lib/execution.js";
import { buildStopMessage, isQueueGone, stopSignalRoute } from "../../../lib/signals/publisher.js";
import { stopMessageSchema } from "../../../lib/signals/stop-message.js";

const queues = {
  workerQueueUrlPrefix: "https://sqs.eu-west-1.amazonaws.com/123456789012/stop-task-dev-worker-",
  environmentQueueUrlPrefix: "https://sqs.eu-west-1.amazonaws.com/123456789012/stop-task-dev-env-",
};
const execution = agentExecutionSchema.parse({
  id: "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e",
  agent_id: "agent-1",
  organization_id: "org-a",
  status: "stopped",
  is_manually_stopped: true,
  created_at: "2026-11-25T11:00:00.000Z",
});

describe("stop signal routing", () => {
  it("sends a fleet execution to its worker's own queue, named from the worker_id alone", () => {
    expect(stopSignalRoute({ worker_id: "worker-7", environment_id: null }, queues)).toEqual({
      kind: "worker",
      ownerId: "worker-7",
      queueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/stop-task-dev-worker-worker-7",
    });
  });

  it("sends a self-hosted execution to its environment's asset-command queue, whatever its worker", () => {
    expect(stopSignalRoute({ worker_id: "onprem-1", environment_id: "env-1" }, queues)).toEqual({
      kind: "environment",
      ownerId: "env-1",
      queueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/stop-task-dev-env-env-1",
    });
  });

  it("has no queue for an execution no worker or environment runs yet (or whose ids are empty)", () => {
    expect(stopSignalRoute(execution, queues)).toEqual({ kind: "unassigned" });
    expect(stopSignalRoute({ worker_id: "", environment_id: "" }, queues)).toEqual({ kind: "unassigned" });
  });

  it("recognises a missing queue in either protocol's words, and nothing else", () => {
    expect(isQueueGone(Object.assign(new Error("gone"), { name: "QueueDoesNotExist" }))).toBe(true);
    expect(isQueueGone(Object.assign(new Error("gone"), { Code: "AWS.SimpleQueueService.NonExistentQueue" }))).toBe(
      true,
    );
    expect(isQueueGone(Object.assign(new Error("slow"), { name: "TimeoutError" }))).toBe(false);
    expect(isQueueGone("QueueDoesNotExist")).toBe(false);
  });
});

describe("buildStopMessage", () => {
  it("builds a message the workers' schema accepts", () => {
    const message = buildStopMessage(execution, {
      requestedAt: "2026-11-25T12:00:00.000Z",
      requestedBy: "key-a",
      reason: "user_requested",
    });
    expect(stopMessageSchema.parse(message)).toEqual({
      type: "task.stop",
      version: 1,
      task_id: execution.id,
      organization_id: "org-a",
      agent_id: "agent-1",
      worker_id: null,
      environment_id: null,
      is_manually_stopped: true,
      requested_at: "2026-11-25T12:00:00.000Z",
      requested_by: "key-a",
      reason: "user_requested",
      note: null,
    });
  });

  it("carries the caller's own words when the stop has them", () => {
    const message = buildStopMessage(execution, {
      requestedAt: "2026-11-25T12:00:00.000Z",
      requestedBy: "key-a",
      reason: "user_requested",
      note: "budget spent",
    });
    expect(stopMessageSchema.parse(message)).toMatchObject({ reason: "user_requested", note: "budget spent" });
  });

  it("is still read by workers when it predates the note", () => {
    const { note: _note, ...older } = buildStopMessage(execution, {
      requestedAt: "2026-11-25T12:00:00.000Z",
      requestedBy: "key-a",
      reason: "user_requested",
    });
    expect(stopMessageSchema.safeParse(older).success).toBe(true);
  });
});
