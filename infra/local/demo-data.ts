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
} as const;

export function demoSeed(now: Date = new Date()): SeedFileInput {
  const startedAt = formatTimestamp(new Date(now.getTime() - 5 * 60_000));
  const createdAt = formatTimestamp(new Date(now.getTime() - 6 * 60_000));
  const base = { agent_id: "agent-research", input: { text: "Research the market", files: [] }, created_at: createdAt, source: "api" };
  return {
    api_keys: [{ key: DEMO_API_KEY, organization_id: DEMO_ORGANIZATION, key_id: "key_demo" }],
    executions: [
      { ...base, id: demoExecutions.executing, organization_id: DEMO_ORGANIZATION, status: "executing", started_at: startedAt, worker_id: "worker-1", title: "Market research" },
      { ...base, id: demoExecutions.pending, organization_id: DEMO_ORGANIZATION, status: "pending" },
      { ...base, id: demoExecutions.selfHosted, organization_id: DEMO_ORGANIZATION, status: "executing", started_at: startedAt, worker_id: "onprem-worker-3", environment_id: "env-onprem-eu" },
      { ...base, id: demoExecutions.completed, organization_id: DEMO_ORGANIZATION, status: "completed", started_at: startedAt, finished_at: formatTimestamp(now), result: "Report ready" },
      { ...base, id: demoExecutions.otherOrganization, organization_id: "org-someone-else", status: "executing", started_at: startedAt },
    ],
  };
}
