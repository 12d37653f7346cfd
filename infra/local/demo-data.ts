import { formatTimestamp } from "../../lib/timestamp.js";
import type { SeedFileInput } from "./seed.js";

/** A key that only ever exists on a laptop, fixed so the README's curl works as printed. */
export const DEMO_API_KEY = "sk_local_demo_key_do_not_use_in_production";
export const DEMO_ORGANIZATION = "org-demo";

export const demoExecutions = {
  executing: "6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e",
  pending: "7a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
  selfHosted: "8b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e",
  completed: "9c4d5e6f-7a8b-4c9d-8e1f-2a3b4c5d6e7f",
  otherOrganization: "0d5e6f7a-8b9c-4d0e-9f2a-3b4c5d6e7f80",
  /** An orchestrator and the sub-executions it started: stopping it stops its running descendants. */
  orchestrator: "a1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6",
  orchestratorResearch: "a1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e501",
  orchestratorGrandchild: "a1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e502",
  orchestratorWriter: "a1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e503",
  orchestratorDone: "a1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e504",
  orchestratorPartner: "a1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e505",
} as const;

/** An agent whose trigger loops: a batch of its running tasks, for the README's bulk stop with a hold. */
export const DEMO_LOOPING_AGENT = "agent-looping";
export const demoLoopingTasks = Array.from(
  { length: 6 },
  (_, index) => `c1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e6${String(index).padStart(2, "0")}`,
);

export function demoSeed(now: Date = new Date()): SeedFileInput {
  const startedAt = formatTimestamp(new Date(now.getTime() - 5 * 60_000));
  const createdAt = formatTimestamp(new Date(now.getTime() - 6 * 60_000));
  const base = {
    agent_id: "agent-research",
    input: { text: "Research the market", files: [] },
    created_at: createdAt,
    source: "api",
  };
  return {
    api_keys: [{ key: DEMO_API_KEY, organization_id: DEMO_ORGANIZATION, key_id: "key_demo" }],
    executions: [
      {
        ...base,
        id: demoExecutions.executing,
        organization_id: DEMO_ORGANIZATION,
        status: "executing",
        started_at: startedAt,
        worker_id: "worker-1",
        title: "Market research",
      },
      { ...base, id: demoExecutions.pending, organization_id: DEMO_ORGANIZATION, status: "pending" },
      {
        ...base,
        id: demoExecutions.selfHosted,
        organization_id: DEMO_ORGANIZATION,
        status: "executing",
        started_at: startedAt,
        worker_id: "onprem-worker-3",
        environment_id: "env-onprem-eu",
      },
      {
        ...base,
        id: demoExecutions.completed,
        organization_id: DEMO_ORGANIZATION,
        status: "completed",
        started_at: startedAt,
        finished_at: formatTimestamp(now),
        result: "Report ready",
      },
      {
        ...base,
        id: demoExecutions.otherOrganization,
        organization_id: "org-someone-else",
        status: "executing",
        started_at: startedAt,
      },
      ...orchestratorTree(now, base),
      // No worker runs them yet (their stops need no signal), as the platform inserts them.
      ...demoLoopingTasks.map((id, index) => ({
        ...base,
        id,
        agent_id: DEMO_LOOPING_AGENT,
        organization_id: DEMO_ORGANIZATION,
        status: index % 2 === 0 ? "pending" : "executing",
        started_at: index % 2 === 0 ? null : startedAt,
        title: `Triggered run ${index + 1}`,
      })),
    ],
  };
}

/**
 * An orchestrator with a sub-execution that has its own, another running one, a finished one, and
 * one of another organization. Started just now: nothing heartbeats them, so the cleanup would
 * stop the running ones as stale after STALE_HEARTBEAT_SECONDS (five minutes).
 */
function orchestratorTree(now: Date, base: { agent_id: string; input: unknown; created_at: string; source: string }) {
  const startedAt = formatTimestamp(now);
  const running = { ...base, organization_id: DEMO_ORGANIZATION, status: "executing", started_at: startedAt };
  const child = { ...running, parent_execution: demoExecutions.orchestrator };
  return [
    {
      ...running,
      id: demoExecutions.orchestrator,
      agent_id: "agent-orchestrator",
      is_orchestration: true,
      worker_id: "worker-orchestrator",
      title: "Quarterly report",
      sub_executions: [
        demoExecutions.orchestratorResearch,
        demoExecutions.orchestratorWriter,
        demoExecutions.orchestratorDone,
        demoExecutions.orchestratorPartner,
      ],
    },
    {
      ...child,
      id: demoExecutions.orchestratorResearch,
      worker_id: "worker-2",
      sub_executions: [demoExecutions.orchestratorGrandchild],
    },
    {
      ...running,
      id: demoExecutions.orchestratorGrandchild,
      status: "pending",
      started_at: null,
      parent_execution: demoExecutions.orchestratorResearch,
    },
    { ...child, id: demoExecutions.orchestratorWriter, status: "paused", worker_id: "worker-3" },
    {
      ...child,
      id: demoExecutions.orchestratorDone,
      status: "completed",
      finished_at: startedAt,
      result: "Sources collected",
    },
    {
      ...child,
      id: demoExecutions.orchestratorPartner,
      organization_id: "org-someone-else",
      worker_id: "worker-partner",
    },
  ];
}
