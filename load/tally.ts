import { isStoppable, type PlannedRequest } from "./scenario.js";

/**
 * Counts every answer of the load by status, and checks each against what its request should
 * get: a documented status is not enough, it must be the right one for that key and target.
 */

/** What the API documents for a stop (503 only while a dependency fails). */
const DOCUMENTED_STATUSES: ReadonlySet<number> = new Set([200, 401, 403, 404, 422, 503]);
const MAX_EXAMPLES = 20;

export interface LoadSummary {
  readonly answered: number;
  readonly statusCodes: Record<string, number>;
  readonly mix: Record<string, number>;
  readonly undocumented: number;
  readonly serverErrors: number;
  readonly unexpected: number;
  readonly unexpectedExamples: readonly string[];
}

export interface LoadTally {
  record(plan: PlannedRequest, status: number, body: string): void;
  /** Executions that an active key of their own organization asked to stop. */
  readonly stopRequestedBySameOrganization: ReadonlySet<string>;
  summary(): LoadSummary;
}

function parseBody(body: string): { id?: unknown; status?: unknown } | undefined {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === "object" && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

/** A 200 returns the execution: just stopped, or unchanged in the terminal status it already had. */
function okBodyProblem(plan: PlannedRequest, body: string): string | undefined {
  const record = parseBody(body);
  if (!record || !plan.execution) return "not an execution record";
  if (record.id !== plan.execution.id) return `record of ${String(record.id)}`;
  const expected = isStoppable(plan.execution) ? "stopped" : plan.execution.status;
  return record.status === expected ? undefined : `status ${String(record.status)}, expected ${expected}`;
}

export function createLoadTally(): LoadTally {
  const statusCodes = new Map<number, number>();
  const mix = new Map<string, number>();
  const stopRequested = new Set<string>();
  const unexpectedExamples: string[] = [];
  let answered = 0;
  let undocumented = 0;
  let serverErrors = 0;
  let unexpected = 0;

  return {
    stopRequestedBySameOrganization: stopRequested,
    record(plan, status, body) {
      answered++;
      statusCodes.set(status, (statusCodes.get(status) ?? 0) + 1);
      const kind = `${plan.method} ${plan.targetKind} key:${plan.keyKind}`;
      mix.set(kind, (mix.get(kind) ?? 0) + 1);
      if (!DOCUMENTED_STATUSES.has(status)) undocumented++;
      if (status >= 500) serverErrors++;
      if (plan.keyKind === "same_org" && plan.execution) stopRequested.add(plan.execution.id);
      const problem =
        status !== plan.expectedStatus
          ? `status ${status}, expected ${plan.expectedStatus}`
          : status === 200
            ? okBodyProblem(plan, body)
            : undefined;
      if (problem) {
        unexpected++;
        if (unexpectedExamples.length < MAX_EXAMPLES)
          unexpectedExamples.push(
            `${plan.method} ${plan.path} (key ${plan.keyKind}): ${problem}: ${body.slice(0, 200)}`,
          );
      }
    },
    summary() {
      const sortedEntries = <K>(map: Map<K, number>) =>
        Object.fromEntries(
          [...map.entries()]
            .sort(([a], [b]) => String(a).localeCompare(String(b)))
            .map(([key, count]) => [String(key), count]),
        );
      return {
        answered,
        statusCodes: sortedEntries(statusCodes),
        mix: sortedEntries(mix),
        undocumented,
        serverErrors,
        unexpected,
        unexpectedExamples,
      };
    },
  };
}
