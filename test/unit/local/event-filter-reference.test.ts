import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { matchesAnyFilter } from "../../../infra/local/event-filter.js";
import { executionStreamProcessing } from "../../../lib/resources.js";
import { aStreamRecord } from "../../support/stream-records.js";

/**
 * infra/local/event-filter.ts (our hand-made imitation of Lambda's event filtering) against an
 * implementation we did not write: moto's EventBridge pattern matcher (`moto.events.models.EventPattern`;
 * Lambda's filters use the same pattern language). Every pattern of lib/resources.ts, on stream records
 * in every shape docs/storage-contract.md lets a record take. Where the two disagree, AWS's documented
 * semantics decide, and the disagreement is written down below.
 */

const id = "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e";
const base = { id, organization_id: "org-a", status: "executing" };
const running = (fields: Record<string, unknown>) => ({ ...base, ...fields });

/** Stream records in every shape the storage contract allows: each status, explicit nulls, odd forms, every change. */
const records: Record<string, ReturnType<typeof aStreamRecord>> = {
  "insert, running, bare": aStreamRecord({ new: base }),
  "insert, stopped": aStreamRecord({ new: { ...base, status: "stopped" } }),
  "modify, stop": aStreamRecord({ old: base, new: { ...base, status: "stopped" } }),
  "modify, stopped acknowledged": aStreamRecord({
    old: { ...base, status: "stopped" },
    new: { ...base, status: "stopped", stop_acknowledged_at: "2026-12-01T09:00:00.123456Z" },
  }),
  "remove, stopped (no new image)": aStreamRecord({ old: { ...base, status: "stopped" } }),
  "insert with a parent": aStreamRecord({ new: { ...base, parent_execution: id.toUpperCase() } }),
  "modify with a parent (not an insert)": aStreamRecord({ old: base, new: { ...base, parent_execution: id } }),
  "insert with a null parent": aStreamRecord({ new: { ...base, parent_execution: null } }),
  ...Object.fromEntries(
    ["pending", "executing", "paused", "error", "completed", "failed", "stopped"].map((status) => [
      `modify, ${status}, tokens reported`,
      aStreamRecord({
        old: { ...base, status },
        new: { ...base, status, tokens: { prompt_tokens: 10, completion_tokens: 2 } },
      }),
    ]),
  ),
  "tokens with completion only": aStreamRecord({ old: base, new: running({ tokens: { completion_tokens: 2 } }) }),
  "tokens as null": aStreamRecord({ old: base, new: running({ tokens: null }) }),
  "tokens with null counts": aStreamRecord({
    old: base,
    new: running({ tokens: { prompt_tokens: null, completion_tokens: null } }),
  }),
  "tokens as a decimal-looking integer (2E+0 stored as a number)": aStreamRecord({
    old: base,
    new: running({ tokens: { prompt_tokens: 2.0 } }),
  }),
  "duration reported": aStreamRecord({ old: base, new: running({ duration: 12.5 }) }),
  "duration null": aStreamRecord({ old: base, new: running({ duration: null }) }),
  "tools alone": aStreamRecord({
    old: base,
    new: running({ tokens: null, duration: null, used_tools: ["search", "search"] }),
  }),
  "tools, an empty list": aStreamRecord({ old: base, new: running({ used_tools: [] }) }),
  "tools, a list of objects": aStreamRecord({ old: base, new: running({ used_tools: [{ name: "search" }] }) }),
  "own limits set": aStreamRecord({ old: base, new: running({ limits_set_at: "2026-12-01T09:00:00Z" }) }),
  "first heartbeat (a start, no deadline)": aStreamRecord({
    old: base,
    new: running({ idx_heartbeat_at: "x", idx_active_since: "x" }),
  }),
  "heartbeat with a deadline": aStreamRecord({
    old: running({ idx_active_since: "x", idx_deadline_at: "y" }),
    new: running({ idx_heartbeat_at: "x", idx_active_since: "x", idx_deadline_at: "y" }),
  }),
  "plain heartbeat": aStreamRecord({ old: base, new: running({ idx_heartbeat_at: "x" }) }),
  "unknown attributes and no organization": aStreamRecord({
    old: { id, status: "executing" },
    new: { id, status: "executing", organization_id: null, extra: { nested: [1, "two", null] } },
  }),
  "status in another case": aStreamRecord({ old: base, new: { ...base, status: "STOPPED" } }),
  "heartbeat of a task in its organization's index": aStreamRecord({
    old: running({ idx_org_shard: "org-a#1", idx_active_since: "x", idx_deadline_at: "y" }),
    new: running({ idx_org_shard: "org-a#1", idx_heartbeat_at: "x", idx_active_since: "x", idx_deadline_at: "y" }),
  }),
  "completion of a task still in its organization's index": aStreamRecord({
    old: running({ idx_org_shard: "org-a#1" }),
    new: { ...base, status: "completed", idx_org_shard: "org-a#1" },
  }),
  "failure of a task out of its organization's index": aStreamRecord({
    old: base,
    new: { ...base, status: "failed" },
  }),
};

/**
 * Where moto answers otherwise than AWS documents, by record and pattern index: what AWS does, and why.
 * The local filter must give AWS's answer.
 */
const knownDisagreements: Record<string, { readonly aws: boolean; readonly why: string }> = {
  "tools alone #5": {
    aws: true,
    why:
      "Lambda's filtering flattens a list: `used_tools.L` is a list of {S: ...} objects and a pattern on `L.S` " +
      "matches when any element has it (Lambda docs, 'Filtering on arrays'; EventBridge, 'arrays' in " +
      "'Event patterns'). moto does not look into a list of objects.",
  },
};

function motoAnswers(cases: readonly { pattern: unknown; event: unknown }[]): unknown[] {
  const script = fileURLToPath(new URL("./moto-event-pattern.py", import.meta.url));
  return JSON.parse(execFileSync("python3", [script], { input: JSON.stringify(cases), encoding: "utf8" })) as unknown[];
}

describe("the local stream filter against moto's event pattern matcher", () => {
  const patterns = executionStreamProcessing.filterPatterns;
  const cases = Object.entries(records).flatMap(([name, record]) =>
    patterns.map((pattern, index) => ({ key: `${name} #${index}`, pattern, record })),
  );

  it("agrees on every record and pattern, except where moto departs from AWS's documented semantics", () => {
    const moto = motoAnswers(cases.map(({ pattern, record }) => ({ pattern, event: record })));
    const disagreements: Record<string, { local: boolean; moto: unknown }> = {};
    cases.forEach(({ key, pattern, record }, index) => {
      const local = matchesAnyFilter(record, [pattern]);
      if (local !== moto[index]) disagreements[key] = { local, moto: moto[index] };
    });
    // Each disagreement is a known one, where the local filter gives AWS's answer; and each known one still happens.
    expect(Object.keys(disagreements).sort()).toEqual(Object.keys(knownDisagreements).sort());
    for (const [key, { aws }] of Object.entries(knownDisagreements)) expect(disagreements[key]?.local, key).toBe(aws);
  });

  it("lets each pattern through on some record and keeps it off some other", () => {
    for (const pattern of patterns) {
      const answers = Object.values(records).map((record) => matchesAnyFilter(record, [pattern]));
      expect(answers, JSON.stringify(pattern)).toContain(true);
      expect(answers, JSON.stringify(pattern)).toContain(false);
    }
  });
});
