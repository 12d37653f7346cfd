import { describe, expect, it } from "vitest";
import { matchesAnyFilter } from "../../../infra/local/event-filter.js";
import { executionStreamProcessing } from "../../../lib/resources.js";
import { aStreamRecord } from "../../support/stream-records.js";

/** A running record already in its organization's index (lib/bulk-stop/holds.ts), as every one is after its first write. */
const base = {
  id: "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e",
  organization_id: "org-a",
  status: "executing",
  idx_org_shard: "org-a#1",
};
const { idx_org_shard: _indexed, ...unindexed } = base;
const passes = (change: Parameters<typeof aStreamRecord>[0]) =>
  matchesAnyFilter(aStreamRecord(change), executionStreamProcessing.filterPatterns);

describe("the stream's filters, as the local poller applies them (Lambda event filtering's semantics)", () => {
  it.each([
    ["the stop of a record", { old: base, new: { ...base, status: "stopped" } }],
    [
      "any later write to a stopped record",
      { old: { ...base, status: "stopped" }, new: { ...base, status: "stopped", stop_acknowledged_at: "x" } },
    ],
    ["a record written already stopped", { new: { ...base, status: "stopped" } }],
    ["a new record naming a parent", { new: { ...base, parent_execution: "p" } }],
    [
      "the first write that gives a running record a start (no duration deadline yet)",
      { old: base, new: { ...base, idx_heartbeat_at: "x", idx_active_since: "x" } },
    ],
    ["a running record the organization index does not hold yet (its insert)", { new: unindexed }],
    ["a write the stream shows of a running record written before the index", { old: unindexed, new: unindexed }],
    [
      "the completion of a record still in its organization's index",
      { old: base, new: { ...base, status: "completed" } },
    ],
    [
      "a usage write that reports tools alone",
      { old: base, new: { ...base, tokens: null, duration: null, used_tools: ["search", "search"] } },
    ],
  ])("pass %s", (_case, change) => {
    expect(passes(change)).toBe(true);
  });

  it.each([
    ["a heartbeat", { old: base, new: { ...base, idx_heartbeat_at: "x" } }],
    [
      "a heartbeat of a running record with its duration deadline",
      {
        old: { ...base, idx_active_since: "x", idx_deadline_at: "y" },
        new: { ...base, idx_heartbeat_at: "x", idx_active_since: "x", idx_deadline_at: "y" },
      },
    ],
    [
      "the completion of a record with a start, out of its organization's index",
      { old: base, new: { ...unindexed, status: "completed", idx_active_since: "x" } },
    ],
    [
      "a completion of a record out of its organization's index",
      { old: base, new: { ...unindexed, status: "completed" } },
    ],
    [
      "a running record whose tool list is empty",
      {
        old: { ...base, idx_active_since: "x", idx_deadline_at: "y" },
        new: { ...base, idx_active_since: "x", idx_deadline_at: "y", used_tools: [] },
      },
    ],
    [
      "a completion that reports tools",
      { old: base, new: { ...unindexed, status: "completed", used_tools: ["search"] } },
    ],
    ["a new record naming no parent", { new: base }],
    ["a new record whose parent is a stored null", { new: { ...base, parent_execution: null } }],
    ["a change naming a parent on a running record", { old: base, new: { ...base, parent_execution: "p" } }],
    ["the deletion of a stopped record", { old: { ...base, status: "stopped" } }],
  ])("drop %s", (_case, change) => {
    expect(passes(change)).toBe(false);
  });

  it("refuses an operator it does not implement, rather than filter differently from AWS", () => {
    expect(() => matchesAnyFilter({ a: 1 }, [{ a: [{ numeric: [">", 0] }] }])).toThrow(/unsupported filter operator/);
  });
});
