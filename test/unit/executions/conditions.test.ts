import { describe, expect, it } from "vitest";
import { allOf, belongsToOrganization, executionExists, inActiveState } from "../../../lib/executions/conditions.js";

describe("condition fragments", () => {
  it("compose into one expression whose values travel only as placeholders", () => {
    const condition = allOf(executionExists, belongsToOrganization("org-'; DROP"), inActiveState);

    expect(condition.expression).toBe("(attribute_exists(#id)) AND (#organization_id = :organization_id) AND (#status IN (:active0, :active1, :active2, :active3))");
    expect(condition.expression).not.toContain("org-");
    expect(condition.values).toEqual({
      ":organization_id": { S: "org-'; DROP" },
      ":active0": { S: "pending" },
      ":active1": { S: "executing" },
      ":active2": { S: "paused" },
      ":active3": { S: "error" },
    });
    expect(condition.names).toEqual({ "#id": "id", "#organization_id": "organization_id", "#status": "status" });
  });
});
