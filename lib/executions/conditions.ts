/**
 * DynamoDB condition fragments, named for what they protect. Values always travel as
 * placeholders; the fragments only ever contain attribute and placeholder names.
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { activeStatusList } from "../execution.js";

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

/**
 * Idempotency and safety: only a known running state moves on. A finished execution keeps the
 * outcome it finished with, and a status this service does not know (another writer's, a typo)
 * is never overwritten, since nobody can say what stopping it would mean.
 */
export const inActiveState: ExpressionPart = {
  expression: `#status IN (${activeStatusList.map((_, index) => `:active${index}`).join(", ")})`,
  names: { "#status": "status" },
  values: Object.fromEntries(activeStatusList.map((status, index) => [`:active${index}`, { S: status }])),
};

/**
 * The attribute holds no value: absent, or stored as null by a writer that dumps every unset
 * field (docs/storage-contract.md). `attribute_not_exists` alone would read such a null as set.
 */
export function isUnset(attributeName: string): ExpressionPart {
  const name = `#unset_${attributeName}`;
  return {
    expression: `attribute_not_exists(${name}) OR attribute_type(${name}, :null_type)`,
    names: { [name]: attributeName },
    values: { ":null_type": { S: "NULL" } },
  };
}

export function allOf(...parts: readonly ExpressionPart[]): ExpressionPart {
  return {
    expression: parts.map((part) => `(${part.expression})`).join(" AND "),
    names: Object.assign({}, ...parts.map((part) => part.names)),
    values: Object.assign({}, ...parts.map((part) => part.values)),
  };
}
