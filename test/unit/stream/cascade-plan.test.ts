import { describe, expect, it } from "vitest";
import { planCascade } from "../../../lib/cascade.js";
import { readExecutionChange } from "../../../lib/stream/execution-change.js";
import { aStreamRecord } from "../../support/stream-records.js";

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const children = (count: number, from = 1) => Array.from({ length: count }, (_, index) => id(100 + from + index));
const parent = (overrides: Record<string, unknown> = {}) => ({
  id: id(1),
  agent_id: "agent-1",
  organization_id: "org-a",
  status: "executing",
  created_at: "2026-11-25T11:00:00.000Z",
  sub_executions: children(3),
  ...overrides,
});
const stoppedParent = (overrides: Record<string, unknown> = {}) =>
  parent({ status: "stopped", stopped_at: "2026-11-25T12:00:00.000000Z", ...overrides });

const plan = (change: Parameters<typeof aStreamRecord>[0], childrenPerRecord = 25) => {
  const read = readExecutionChange(aStreamRecord(change));
  if (!read) throw new Error("not a change");
  return planCascade(read, { childrenPerRecord });
};

describe("what the cascade does for a record", () => {
  it("stops every sub-execution of a record that became stopped", () => {
    expect(plan({ old: parent(), new: stoppedParent() })).toMatchObject({
      kind: "children",
      children: children(3),
      from: 0,
      to: 3,
      total: 3,
      cursorSeen: 0,
    });
  });

  it("stops at most `childrenPerRecord` of them; the cursor's move continues from there", () => {
    const first = plan(
      { old: parent({ sub_executions: children(60) }), new: stoppedParent({ sub_executions: children(60) }) },
      25,
    );
    expect(first).toMatchObject({ kind: "children", from: 0, to: 25, total: 60, children: children(25) });

    const next = plan(
      {
        old: stoppedParent({ sub_executions: children(60) }),
        new: stoppedParent({ sub_executions: children(60), cascade_cursor: 25 }),
      },
      25,
    );
    expect(next).toMatchObject({ kind: "children", from: 25, to: 50, cursorSeen: 25, children: children(25, 26) });

    const last = plan(
      {
        old: stoppedParent({ sub_executions: children(60), cascade_cursor: 50 }),
        new: stoppedParent({ sub_executions: children(60), cascade_cursor: 60 }),
      },
      25,
    );
    expect(last).toEqual({ kind: "none" });
  });

  it("stops sub-executions appended to a stopped record, from where the cascade got to", () => {
    const before = stoppedParent({ sub_executions: children(3), cascade_cursor: 3 });
    expect(plan({ old: before, new: { ...before, sub_executions: children(4) } })).toMatchObject({
      kind: "children",
      children: [children(4)[3]],
      from: 3,
      to: 4,
    });
  });

  it("starts over from the first sub-execution when a record becomes stopped again, whatever cursor another writer left", () => {
    expect(plan({ old: parent({ cascade_cursor: 3 }), new: stoppedParent({ cascade_cursor: 3 }) })).toMatchObject({
      kind: "children",
      from: 0,
      cursorSeen: 3,
    });
  });

  it.each([
    [
      "an acknowledgement of a stopped record",
      { old: stoppedParent(), new: stoppedParent({ stop_acknowledged_at: "2026-11-25T12:00:01.000000Z" }) },
    ],
    [
      "a stopped record without sub-executions",
      { old: parent({ sub_executions: null }), new: stoppedParent({ sub_executions: null }) },
    ],
    ["a heartbeat", { old: parent(), new: parent({ idx_heartbeat_at: "2026-11-25T12:00:01.000000Z" }) }],
    ["a completion", { old: parent(), new: parent({ status: "completed" }) }],
    ["a deletion", { old: stoppedParent() }],
  ])("does nothing for %s", (_case, change) => {
    expect(plan(change)).toEqual({ kind: "none" });
  });

  it("reads sub_executions leniently: entries that are not strings are passed over, not the whole list", () => {
    expect(plan({ old: parent(), new: stoppedParent({ sub_executions: [id(2), null, 7, id(3)] }) })).toMatchObject({
      children: [id(2), id(3)],
    });
  });

  it("checks the parent of a running sub-execution when it is first written", () => {
    expect(plan({ new: parent({ id: id(9), parent_execution: id(1), sub_executions: null }) })).toEqual({
      kind: "late_child",
      childId: id(9),
      parentId: id(1),
    });
  });

  it.each([
    ["written already finished", { new: parent({ id: id(9), parent_execution: id(1), status: "completed" }) }],
    ["naming no parent", { new: parent({ id: id(9), parent_execution: null }) }],
    ["naming itself", { new: parent({ id: id(9), parent_execution: id(9) }) }],
    [
      "changed later rather than written",
      { old: parent({ id: id(9) }), new: parent({ id: id(9), parent_execution: id(1) }) },
    ],
  ])("does not check the parent of a sub-execution %s", (_case, change) => {
    expect(plan(change)).toEqual({ kind: "none" });
  });
});
