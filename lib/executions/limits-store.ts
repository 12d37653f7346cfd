import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
} from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { allOf, belongsToOrganization, conditionalUpdate, executionExists, stillHolds } from "../conditional-writes.js";
import type { AgentExecution } from "../execution.js";
import { type LimitName, type Limits, limitNames, readStoredLimits } from "../limits.js";
import type { TaskRefusal } from "../outcomes.js";
import { formatTimestamp } from "../timestamp.js";
import { toExecution } from "./repository.js";

/**
 * Organizations' default limits: one item per organization in this service's own `limits` table
 * (lib/resources.ts), keyed by `organization_id`. Written by the operator command only
 * (`npm run limits`); read by the stream processor and the cleanup.
 */

export type OrganizationLimitsReader = (organizationId: string) => Promise<Limits>;

/**
 * One GetItem per organization, remembered for `ttlMs` (default 5 s): the stream reads the limits
 * of every record with usage, and a burst of records of one organization costs one read. A
 * changed default is in force within the TTL.
 */
export function dynamoOrganizationLimits(
  client: DynamoDBClient,
  tableName: string,
  options: { readonly ttlMs?: number; readonly now?: () => number } = {},
): OrganizationLimitsReader {
  const ttlMs = options.ttlMs ?? ORGANIZATION_LIMITS_TTL_MS;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { readonly limits: Limits; readonly expiresAt: number }>();
  return async (organizationId) => {
    const cached = cache.get(organizationId);
    if (cached && cached.expiresAt > now()) return cached.limits;
    const { Item } = await client.send(
      new GetItemCommand({ TableName: tableName, Key: { organization_id: { S: organizationId } } }),
    );
    const limits = Item ? readStoredLimits(unmarshall(Item, { wrapNumbers: (text: string) => Number(text) })) : {};
    if (cache.size > 10_000) cache.clear();
    cache.set(organizationId, { limits, expiresAt: now() + ttlMs });
    return limits;
  };
}

/**
 * An organization whose default changed (`updated_at`) since its running tasks' duration deadlines
 * were last rewritten for it (`deadlines_for`), and where an unfinished rewrite stopped
 * (`deadlines_cursor`): bookkeeping on its limits item, which `npm run limits` replaces whole, so
 * that every change starts a rewrite from the beginning.
 */
export interface DeadlineRewrite {
  readonly organizationId: string;
  readonly updatedAt: string;
  readonly cursor?: string;
}

export interface LimitsDirectory {
  /** Every organization's defaults, by organization id. */
  readonly defaults: ReadonlyMap<string, Limits>;
  readonly deadlineRewrites: readonly DeadlineRewrite[];
}

/** What the cleanup's duration guard reads once a run. */
export type OrganizationLimitsDirectory = () => Promise<LimitsDirectory>;

/** Records how far a rewrite got (`cursor`), or that it is done (undefined); a newer change wins. */
export type DeadlineRewriteRecorder = (rewrite: DeadlineRewrite, cursor: string | undefined) => Promise<void>;

/**
 * How long the stream processor keeps an organization's limits (dynamoOrganizationLimits): after
 * that, every deadline it writes uses the changed default, and a rewrite can begin.
 */
export const ORGANIZATION_LIMITS_TTL_MS = 5_000;

const DEADLINES_FOR = "deadlines_for";
const DEADLINES_CURSOR = "deadlines_cursor";

/**
 * The whole limits table, read page by page. A Scan, and meant to be one: the table holds one
 * small item per organization that set defaults (this service's own bookkeeping, written by the
 * operator only), so a run of the cleanup reads it whole, once. The executions table is never scanned.
 */
export function dynamoOrganizationLimitsDirectory(
  client: DynamoDBClient,
  tableName: string,
): OrganizationLimitsDirectory {
  return async () => {
    const defaults = new Map<string, Limits>();
    const deadlineRewrites: DeadlineRewrite[] = [];
    let page: Record<string, AttributeValue> | undefined;
    do {
      const { Items = [], LastEvaluatedKey } = await client.send(
        new ScanCommand({ TableName: tableName, ...(page ? { ExclusiveStartKey: page } : {}) }),
      );
      for (const item of Items) {
        const organizationId = item.organization_id?.S;
        if (!organizationId) continue;
        defaults.set(
          organizationId,
          readStoredLimits(unmarshall(item, { wrapNumbers: (text: string) => Number(text) })),
        );
        const updatedAt = item.updated_at?.S;
        if (updatedAt !== undefined && updatedAt !== item[DEADLINES_FOR]?.S) {
          const cursor = item[DEADLINES_CURSOR]?.S;
          deadlineRewrites.push({ organizationId, updatedAt, ...(cursor === undefined ? {} : { cursor }) });
        }
      }
      page = LastEvaluatedKey;
    } while (page);
    return { defaults, deadlineRewrites };
  };
}

export function dynamoDeadlineRewriteRecorder(client: DynamoDBClient, tableName: string): DeadlineRewriteRecorder {
  return async (rewrite, cursor) => {
    await conditionalUpdate(client, {
      tableName,
      key: { organization_id: { S: rewrite.organizationId } },
      // Only for the change it rewrote for: a newer one (the item replaced) starts its own rewrite.
      condition: stillHolds("updated_at", rewrite.updatedAt),
      update: cursor === undefined ? "SET #for = :updated_at REMOVE #cursor" : "SET #cursor = :cursor",
      names: { "#cursor": DEADLINES_CURSOR, ...(cursor === undefined ? { "#for": DEADLINES_FOR } : {}) },
      values: cursor === undefined ? { ":updated_at": { S: rewrite.updatedAt } } : { ":cursor": { S: cursor } },
    });
  };
}

/** Replaces an organization's defaults (an unset limit is removed). */
export async function putOrganizationLimits(
  client: DynamoDBClient,
  tableName: string,
  organizationId: string,
  limits: Limits,
  updatedAt = new Date(),
): Promise<void> {
  const set = limitNames.filter((name): name is LimitName => typeof limits[name] === "number");
  await client.send(
    new PutItemCommand({
      TableName: tableName,
      Item: {
        organization_id: { S: organizationId },
        updated_at: { S: formatTimestamp(updatedAt) },
        ...Object.fromEntries(set.map((name) => [name, { N: String(limits[name]) }])),
      },
    }),
  );
}

export async function getOrganizationLimits(
  client: DynamoDBClient,
  tableName: string,
  organizationId: string,
): Promise<Limits> {
  const { Item } = await client.send(
    new GetItemCommand({ TableName: tableName, Key: { organization_id: { S: organizationId } }, ConsistentRead: true }),
  );
  return Item ? readStoredLimits(unmarshall(Item, { wrapNumbers: (text: string) => Number(text) })) : {};
}

export type SetTaskLimitsResult = { readonly kind: "limits_set"; readonly execution: AgentExecution } | TaskRefusal;

/**
 * A task's own limits: the `limits` map on its execution item (public: Get Task returns it) and
 * `limits_set_at` (bookkeeping: the stream's filter and the guards see a new limit by it), in one
 * conditional write that only the task's organization can make and that never creates a stub.
 * Unset limits are stored as null. A finished task may still be given limits: they do nothing.
 */
export async function setTaskLimits(
  client: DynamoDBClient,
  tableName: string,
  command: { readonly taskId: string; readonly organizationId: string; readonly limits: Limits; readonly now?: Date },
): Promise<SetTaskLimitsResult> {
  const stored = Object.fromEntries(
    limitNames.map((name) => {
      const value = command.limits[name];
      return [name, typeof value === "number" ? { N: String(value) } : { NULL: true }];
    }),
  ) as Record<string, AttributeValue>;
  const result = await conditionalUpdate(client, {
    tableName,
    key: { id: { S: command.taskId } },
    condition: allOf(executionExists, belongsToOrganization(command.organizationId)),
    update: "SET #limits = :limits, limits_set_at = :limits_set_at",
    names: { "#limits": "limits" },
    values: { ":limits": { M: stored }, ":limits_set_at": { S: formatTimestamp(command.now ?? new Date()) } },
    returnNew: true,
  });
  if (result.applied) return { kind: "limits_set", execution: toExecution(command.taskId, result.item ?? {}) };
  return result.old ? { kind: "forbidden" } : { kind: "not_found" };
}
