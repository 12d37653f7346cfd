/**
 * DynamoDB condition fragments, named for what they protect. Values always travel as
 * placeholders; the fragments only ever contain attribute and placeholder names.
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { terminalStatusList } from "../execution.js";

export interface ExpressionPart {
  readonly expression: string;
  readonly names: Record<string, string>;
  readonly values: Record<string, AttributeValue>;
}

/** The item must exist: UpdateItem would otherwise create a stub execution out of a stop. */
export const executionExists: ExpressionPart = {
  expression: "attribute_exists(#id)",
  names: { "#id": "id" },
  values: {},
};

/** Tenancy: a key may only touch its own organization's executions. */
export function belongsToOrganization(organizationId: string): ExpressionPart {
  return {
    expression: "#organization_id = :organization_id",
    names: { "#organization_id": "organization_id" },
    values: { ":organization_id": { S: organizationId } },
  };
}

/** Idempotency: a finished execution keeps the outcome it finished with. */
export const notTerminal: ExpressionPart = {
  expression: `NOT #status IN (${terminalStatusList.map((_, index) => `:terminal${index}`).join(", ")})`,
  names: { "#status": "status" },
  values: Object.fromEntries(terminalStatusList.map((status, index) => [`:terminal${index}`, { S: status }])),
};

export function allOf(...parts: readonly ExpressionPart[]): ExpressionPart {
  return {
    expression: parts.map((part) => `(${part.expression})`).join(" AND "),
    names: Object.assign({}, ...parts.map((part) => part.names)),
    values: Object.assign({}, ...parts.map((part) => part.values)),
  };
}
