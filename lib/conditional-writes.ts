/**
 * Every conditional write of the service, in one place: the condition fragments, named for what
 * they protect, and the one helper that runs a conditional UpdateItem and hands back the old item
 * when DynamoDB refuses it. Values always travel as placeholders; a fragment only ever contains
 * attribute and placeholder names.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { activeStatusList } from "./execution.js";

export interface ExpressionPart {
  readonly expression: string;
  readonly names: Record<string, string>;
  readonly values: Record<string, AttributeValue>;
}

export function allOf(...parts: readonly ExpressionPart[]): ExpressionPart {
  return {
    expression: parts.map((part) => `(${part.expression})`).join(" AND "),
    names: Object.assign({}, ...parts.map((part) => part.names)),
    values: Object.assign({}, ...parts.map((part) => part.values)),
  };
}

/** The item must exist: UpdateItem would otherwise create a stub out of an update. */
export function itemExists(keyAttribute: string): ExpressionPart {
  return {
    expression: `attribute_exists(#exists_${keyAttribute})`,
    names: { [`#exists_${keyAttribute}`]: keyAttribute },
    values: {},
  };
}

/** The execution must exist: a stop or a worker's update never creates a stub execution. */
export const executionExists = itemExists("id");

/** Tenancy: a key may only touch its own organization's executions. */
export function belongsToOrganization(organizationId: string): ExpressionPart {
  return attributeEquals("organization_id", { S: organizationId });
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

/** The stop is recorded: what an acknowledgement or a re-drive of its signal needs. */
export const isStopped: ExpressionPart = attributeEquals("status", { S: "stopped" });

/** Only the worker running an execution may heartbeat or finish it. */
export function runsOnWorker(workerId: string): ExpressionPart {
  return attributeEquals("worker_id", { S: workerId });
}

/** Only the self-hosted environment an execution names may acknowledge its stop. */
export function runsInEnvironment(environmentId: string): ExpressionPart {
  return attributeEquals("environment_id", { S: environmentId });
}

/**
 * The attribute still holds what the caller saw: a marker or a due time used as a version, so
 * that of two writers racing for it only the first one acts.
 */
export function stillHolds(attributeName: string, seen: string): ExpressionPart {
  return attributeEquals(attributeName, { S: seen });
}

/** A numeric cursor still where the caller saw it; 0 also matches a cursor never written. */
export function cursorStillAt(attributeName: string, seen: number): ExpressionPart {
  const equals = attributeEquals(attributeName, { N: String(seen) });
  if (seen !== 0) return equals;
  const [placeholder] = Object.keys(equals.names);
  return { ...equals, expression: `attribute_not_exists(${placeholder}) OR ${equals.expression}` };
}

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

/** No owner to signal: the id is absent, null or empty (lib/signals/publisher.ts routes those nowhere). */
export function hasNoOwner(attributeName: string): ExpressionPart {
  const unset = isUnset(attributeName);
  const [placeholder] = Object.keys(unset.names);
  return {
    expression: `${unset.expression} OR ${placeholder} = :empty`,
    names: unset.names,
    values: { ...unset.values, ":empty": { S: "" } },
  };
}

function attributeEquals(attributeName: string, value: AttributeValue): ExpressionPart {
  return {
    expression: `#eq_${attributeName} = :eq_${attributeName}`,
    names: { [`#eq_${attributeName}`]: attributeName },
    values: { [`:eq_${attributeName}`]: value },
  };
}

export interface ConditionalUpdate {
  readonly tableName: string;
  readonly key: Record<string, AttributeValue>;
  readonly condition: ExpressionPart;
  /** The update expression; its own names and values join the condition's. */
  readonly update: string;
  readonly names?: Record<string, string>;
  readonly values?: Record<string, AttributeValue>;
  /** Return the item as written (one round trip instead of a write and a read). */
  readonly returnNew?: boolean;
}

export type ConditionalUpdateResult =
  | { readonly applied: true; readonly item?: Record<string, AttributeValue> }
  /** Refused: `old` is the item as DynamoDB saw it (undefined when there is none), never re-read. */
  | { readonly applied: false; readonly old?: Record<string, AttributeValue> };

/** One conditional UpdateItem whose refused condition is an answer, not an error. Any other failure throws. */
export async function conditionalUpdate(
  client: DynamoDBClient,
  input: ConditionalUpdate,
): Promise<ConditionalUpdateResult> {
  const values = { ...input.condition.values, ...input.values };
  try {
    const { Attributes } = await client.send(
      new UpdateItemCommand({
        TableName: input.tableName,
        Key: input.key,
        ConditionExpression: input.condition.expression,
        UpdateExpression: input.update,
        ExpressionAttributeNames: { ...input.condition.names, ...input.names },
        ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
        ...(input.returnNew ? { ReturnValues: "ALL_NEW" as const } : {}),
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
    return Attributes ? { applied: true, item: Attributes } : { applied: true };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    return error.Item ? { applied: false, old: error.Item } : { applied: false };
  }
}
