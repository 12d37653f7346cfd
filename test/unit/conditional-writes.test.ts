import { describe, expect, it } from "vitest";
import {
  allOf,
  belongsToOrganization,
  executionExists,
  inActiveState,
  isUnset,
  stillHolds,
} from "../../lib/conditional-writes.js";

describe("condition fragments", () => {
  it("compose into one expression whose values travel only as placeholders", () => {
    const condition = allOf(executionExists, belongsToOrganization("org-'; DROP"), inActiveState);

    expect(condition.expression).toBe(
      "(attribute_exists(#exists_id)) AND (#eq_organization_id = :eq_organization_id) " +
        "AND (#status IN (:active0, :active1, :active2, :active3))",
    );
    expect(condition.expression).not.toContain("org-");
    expect(condition.values).toEqual({
      ":eq_organization_id": { S: "org-'; DROP" },
      ":active0": { S: "pending" },
      ":active1": { S: "executing" },
      ":active2": { S: "paused" },
      ":active3": { S: "error" },
    });
    expect(condition.names).toEqual({
      "#exists_id": "id",
      "#eq_organization_id": "organization_id",
      "#status": "status",
    });
  });

  it("reads a stored null as unset, and compares a seen value only through a placeholder", () => {
    const condition = allOf(
      isUnset("stop_acknowledged_at"),
      stillHolds("signal_pending_since", "2026-12-01T09:00:00.000000Z"),
    );

    expect(condition.expression).toBe(
      "(attribute_not_exists(#unset_stop_acknowledged_at) OR attribute_type(#unset_stop_acknowledged_at, " +
        ":null_type)) AND (#eq_signal_pending_since = :eq_signal_pending_since)",
    );
    expect(condition.values).toEqual({
      ":null_type": { S: "NULL" },
      ":eq_signal_pending_since": { S: "2026-12-01T09:00:00.000000Z" },
    });
  });
});
