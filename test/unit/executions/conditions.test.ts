import { describe, expect, it } from "vitest";
import { allOf, belongsToOrganization, executionExists, notTerminal } from "../../../lib/executions/conditions.js";

describe("condition fragments", () => {
  it("compose into one expression whose values travel only as placeholders", () => {
    const condition = allOf(executionExists, belongsToOrganization("org-'; DROP"), notTerminal);

    expect(condition.expression).toBe("(attribute_exists(#id)) AND (#organization_id = :organization_id) AND (NOT #status IN (:terminal0, :terminal1, :terminal2))");
    expect(condition.expression).not.toContain("org-");
    expect(condition.values).toEqual({
      ":organization_id": { S: "org-'; DROP" },
      ":terminal0": { S: "completed" },
      ":terminal1": { S: "failed" },
      ":terminal2": { S: "stopped" },
    });
    expect(condition.names).toEqual({ "#id": "id", "#organization_id": "organization_id", "#status": "status" });
  });
});
