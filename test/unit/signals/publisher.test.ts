import { describe, expect, it } from "vitest";
import { agentExecutionSchema } from "../../../lib/execution.js";
import { buildStopMessage, stopSignalQueueFor } from "../../../lib/signals/publisher.js";
import { stopMessageSchema } from "../../../lib/signals/stop-message.js";

const queues = { stopSignalQueueUrl: "https://sqs/fleet", assetCommandQueueUrl: "https://sqs/assets" };
const execution = agentExecutionSchema.parse({
  id: "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e",
  agent_id: "agent-1",
  organization_id: "org-a",
  status: "stopped",
  is_manually_stopped: true,
  created_at: "2026-11-25T11:00:00.000Z",
});

describe("stop signal routing", () => {
  it("sends fleet executions to the stop-signal queue", () => {
    expect(stopSignalQueueFor(execution, queues)).toBe("https://sqs/fleet");
  });

  it("sends self-hosted executions to the asset-command channel", () => {
    expect(stopSignalQueueFor({ environment_id: "env-1" }, queues)).toBe("https://sqs/assets");
  });
});

describe("buildStopMessage", () => {
  it("builds a message the workers' schema accepts", () => {
    const message = buildStopMessage(execution, { requestedAt: "2026-11-25T12:00:00.000Z", requestedBy: "key-a", reason: "user_requested" });
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
    const message = buildStopMessage(execution, { requestedAt: "2026-11-25T12:00:00.000Z", requestedBy: "key-a", reason: "user_requested", note: "budget spent" });
    expect(stopMessageSchema.parse(message)).toMatchObject({ reason: "user_requested", note: "budget spent" });
  });

  it("is still read by workers when it predates the note", () => {
    const { note: _note, ...older } = buildStopMessage(execution, { requestedAt: "2026-11-25T12:00:00.000Z", requestedBy: "key-a", reason: "user_requested" });
    expect(stopMessageSchema.safeParse(older).success).toBe(true);
  });
});
