import { seededRandom } from "../bench/seeded-random.js";
import type { SeedFileInput } from "../infra/local/seed.js";
import { type ExecutionStatus, isTerminal } from "../lib/execution.js";

/**
 * What `npm run load` seeds and sends: executions of several organizations in every status,
 * keys that are active, revoked, expired or unknown, and a request mix that hits all of them.
 * Everything is drawn from one seeded generator, so a run can be repeated exactly.
 */

export type KeyKind = "same_org" | "other_org" | "revoked" | "expired" | "unknown" | "missing";
export type TargetKind = "execution" | "unknown_task" | "malformed_id";

export interface LoadExecution {
  readonly id: string;
  readonly organizationId: string;
  readonly status: ExecutionStatus;
  readonly environmentId: string | null;
  readonly workerId: string | null;
  /** Only ever targeted by keys that may not stop it: proves such requests leave it untouched. */
  readonly guarded: boolean;
}

export interface PlannedRequest {
  readonly method: "POST" | "DELETE";
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly keyKind: KeyKind;
  readonly targetKind: TargetKind;
  /** The seeded execution the path names (any letter case), when it names one. */
  readonly execution?: LoadExecution;
  readonly expectedStatus: 200 | 401 | 403 | 404 | 422;
}

export interface Scenario {
  readonly seed: SeedFileInput;
  readonly executions: readonly LoadExecution[];
  nextRequest(): PlannedRequest;
}

const ORGANIZATIONS = ["org-load-a", "org-load-b", "org-load-c", "org-load-d", "org-load-e"] as const;
const ENVIRONMENTS = ["env-onprem-eu", "env-onprem-us", "env-edge-1"] as const;
const UNKNOWN_KEY = "sk_load_unknown_key_never_issued";
const REVOKED_KEY = "sk_load_revoked_key";
const EXPIRED_KEY = "sk_load_expired_key";

const statusWeights: readonly (readonly [ExecutionStatus, number])[] = [
  ["pending", 20],
  ["executing", 30],
  ["paused", 10],
  ["error", 10],
  ["completed", 10],
  ["failed", 10],
  ["stopped", 10],
];

const keyWeights: readonly (readonly [KeyKind, number])[] = [
  ["same_org", 62],
  ["other_org", 14],
  ["revoked", 6],
  ["expired", 6],
  ["unknown", 6],
  ["missing", 6],
];

/** Not UUIDs, some percent-encoded the way a hostile caller would send them. */
const MALFORMED_IDS = [
  "not-a-uuid",
  "12345",
  "zzzzzzzz-zzzz-4zzz-8zzz-zzzzzzzzzzzz",
  "6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5",
  "6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e0",
  "%27%20OR%20%271%27%3D%271",
  "abc%2Fdef",
  "%F0%9F%9B%91",
] as const;

export function activeKeyFor(organizationId: string): string {
  return `sk_load_${organizationId}_active`;
}

export function buildScenario({
  executionCount,
  randomSeed,
  now = new Date(),
}: {
  executionCount: number;
  randomSeed: number;
  now?: Date;
}): Scenario {
  const random = seededRandom(randomSeed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const weighted = <T>(weights: readonly (readonly [T, number])[]): T => {
    const total = weights.reduce((sum, [, weight]) => sum + weight, 0);
    let roll = random() * total;
    for (const [value, weight] of weights) {
      roll -= weight;
      if (roll < 0) return value;
    }
    return (weights[weights.length - 1] as readonly [T, number])[0];
  };
  const uuid = (): string => {
    const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16));
    hex[12] = "4";
    hex[16] = ((Number.parseInt(hex[16] ?? "0", 16) & 0x3) | 0x8).toString(16);
    const text = hex.join("");
    return `${text.slice(0, 8)}-${text.slice(8, 12)}-${text.slice(12, 16)}-${text.slice(16, 20)}-${text.slice(20)}`;
  };
  const minutesAgo = (minutes: number) => new Date(now.getTime() - minutes * 60_000).toISOString();

  const executions: LoadExecution[] = [];
  const records: Record<string, unknown>[] = [];
  for (let index = 0; index < executionCount; index++) {
    const status = weighted(statusWeights);
    const organizationId = pick(ORGANIZATIONS);
    const environmentId = random() < 0.25 ? pick(ENVIRONMENTS) : null;
    const started = status !== "pending";
    const workerId = started ? `${environmentId ? "onprem-" : ""}worker-${Math.floor(random() * 40)}` : null;
    const execution: LoadExecution = {
      id: uuid(),
      organizationId,
      status,
      environmentId,
      workerId,
      guarded: random() < 0.25,
    };
    executions.push(execution);
    records.push({
      id: execution.id,
      organization_id: organizationId,
      agent_id: `agent-${Math.floor(random() * 20)}`,
      input: { text: `Load task ${index}`, files: [] },
      status,
      created_at: minutesAgo(30),
      source: "api",
      title: `Load task ${index}`,
      ...(environmentId ? { environment_id: environmentId } : {}),
      ...(workerId ? { worker_id: workerId } : {}),
      ...(started ? { started_at: minutesAgo(20) } : {}),
      ...(status === "paused" ? { paused_at: minutesAgo(10) } : {}),
      ...(status === "completed" ? { finished_at: minutesAgo(5), result: "done" } : {}),
      ...(status === "failed" ? { finished_at: minutesAgo(5), result: "tool call failed" } : {}),
      ...(status === "stopped"
        ? {
            finished_at: minutesAgo(5),
            stopped_at: minutesAgo(5),
            stopped_by: "key_earlier",
            stop_reason: "Stopped by user",
            is_manually_stopped: true,
          }
        : {}),
    });
  }

  const seed: SeedFileInput = {
    api_keys: [
      ...ORGANIZATIONS.map((organizationId) => ({
        key: activeKeyFor(organizationId),
        organization_id: organizationId,
        key_id: `key_${organizationId}`,
      })),
      { key: REVOKED_KEY, organization_id: ORGANIZATIONS[0], key_id: "key_revoked", status: "revoked" as const },
      { key: EXPIRED_KEY, organization_id: ORGANIZATIONS[1], key_id: "key_expired", expires_at: minutesAgo(60) },
    ],
    executions: records as SeedFileInput["executions"],
  };

  const keyHeaderFor = (kind: KeyKind, organizationId: string): Record<string, string> => {
    switch (kind) {
      case "same_org":
        return { "x-api-key": activeKeyFor(organizationId) };
      case "other_org":
        return { "x-api-key": activeKeyFor(pick(ORGANIZATIONS.filter((other) => other !== organizationId))) };
      case "revoked":
        return { "x-api-key": REVOKED_KEY };
      case "expired":
        return { "x-api-key": EXPIRED_KEY };
      case "unknown":
        return { "x-api-key": UNKNOWN_KEY };
      case "missing":
        return {};
    }
  };

  const nextRequest = (): PlannedRequest => {
    const targetRoll = random();
    const targetKind: TargetKind =
      targetRoll < 0.08 ? "malformed_id" : targetRoll < 0.12 ? "unknown_task" : "execution";
    const execution = targetKind === "execution" ? pick(executions) : undefined;
    let keyKind = weighted(keyWeights);
    if (execution?.guarded && keyKind === "same_org") keyKind = "other_org";
    const organizationId = execution?.organizationId ?? pick(ORGANIZATIONS);
    // Ids are case-insensitive in paths: some requests name the execution in upper case.
    const taskId =
      targetKind === "malformed_id"
        ? pick(MALFORMED_IDS)
        : targetKind === "unknown_task"
          ? uuid()
          : random() < 0.05
            ? execution?.id.toUpperCase()
            : execution?.id;
    // The platform's SDK stops through the compatibility route; same handler, same answers.
    const method = random() < 0.1 ? "DELETE" : "POST";
    const path = method === "POST" ? `/v1/tasks/${taskId}/stop` : `/agent-execution/${taskId}`;
    return {
      method,
      path,
      headers: keyHeaderFor(keyKind, organizationId),
      keyKind,
      targetKind,
      ...(execution ? { execution } : {}),
      expectedStatus: expectedStatusFor(keyKind, targetKind),
    };
  };

  return { seed, executions, nextRequest };
}

/** The reference's order: the key first, then the id's shape, then existence, then tenancy. */
function expectedStatusFor(keyKind: KeyKind, targetKind: TargetKind): PlannedRequest["expectedStatus"] {
  if (keyKind !== "same_org" && keyKind !== "other_org") return 401;
  if (targetKind === "malformed_id") return 422;
  if (targetKind === "unknown_task") return 404;
  return keyKind === "same_org" ? 200 : 403;
}

/** Whether a stop by its own organization moves it to `stopped` (and so sends one message). */
export function isStoppable(execution: LoadExecution): boolean {
  return !isTerminal(execution.status);
}
