import { createHash } from "node:crypto";
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import * as z from "zod/mini";
import { bulkStopsTable, INDEX_SHARDS } from "../resources.js";
import type { BulkStopScope } from "./scope.js";
import { bulkStopScopeViewSchema } from "./view.js";

/**
 * The bulk-stops table (lib/resources.ts `bulkStopsTable`): a bulk stop's scope, its progress through each shard of
 * its organization's index, its counts and its hold. Progress is saved per shard with the page's counts in one
 * conditional write on that shard's version, so a run that crashed, or a second run of the same bulk stop, never
 * counts a page twice: the loser of a race reads the winner's cursor and goes on from there.
 */

/** A shard's cursor once every page of it is done. */
export const SHARD_DONE = "done";

const counts = ["matched", "stopped", "already_terminal", "failed", "held"] as const;
export type BulkStopCount = (typeof counts)[number];
export type BulkStopCounts = Readonly<Record<BulkStopCount, number>>;
export const noCounts: BulkStopCounts = { matched: 0, stopped: 0, already_terminal: 0, failed: 0, held: 0 };

const cursorAttribute = (shard: number) => `cursor_${shard}`;
const inFlightAttribute = (shard: number) => `in_flight_${shard}`;
const versionAttribute = (shard: number) => `run_version_${shard}`;
const shards = Array.from({ length: INDEX_SHARDS }, (_, shard) => shard);

const storedBulkStopSchema = z.object({
  id: z.string(),
  organization_id: z.string(),
  scope: bulkStopScopeViewSchema,
  reason: z.nullable(z.string()),
  status: z.enum(["running", "done"]),
  created_at: z.string(),
  created_by: z.string(),
  hold_until: z.nullable(z.string()),
  hold_ended_at: z._default(z.nullable(z.string()), null),
  completed_at: z._default(z.nullable(z.string()), null),
  matched: z._default(z.number(), 0),
  stopped: z._default(z.number(), 0),
  already_terminal: z._default(z.number(), 0),
  failed: z._default(z.number(), 0),
  held: z._default(z.number(), 0),
  /** Up to 100 ids of tasks whose stop failed, for an operator. */
  failed_task_ids: z._default(z.array(z.string()), []),
  ...Object.fromEntries(shards.map((shard) => [cursorAttribute(shard), z._default(z.string(), "")])),
  ...Object.fromEntries(shards.map((shard) => [versionAttribute(shard), z._default(z.number(), 0)])),
  ...Object.fromEntries(
    shards.map((shard) => [
      inFlightAttribute(shard),
      z.optional(z.nullable(z.object({ task_ids: z.array(z.string()), next: z.string() }))),
    ]),
  ),
});

export interface ShardProgress {
  /** Where the shard's next page starts: "" at the beginning, SHARD_DONE at the end, else the last key read (JSON). */
  readonly cursor: string;
  readonly version: number;
  /**
   * The page being stopped: its tasks and the cursor after it, saved before its first stop. A stopped task leaves
   * the organization's index, so a run that died mid-page could not find that page's tasks again to count them.
   */
  readonly inFlight?: { readonly taskIds: readonly string[]; readonly next: string };
}

export interface BulkStop extends BulkStopCounts {
  readonly stop_id: string;
  readonly organization_id: string;
  readonly scope: BulkStopScope;
  readonly reason: string | null;
  readonly status: "running" | "done";
  readonly created_at: string;
  readonly created_by: string;
  readonly hold_until: string | null;
  readonly hold_ended_at: string | null;
  readonly completed_at: string | null;
  readonly failed_task_ids: readonly string[];
  readonly shards: readonly ShardProgress[];
}

export interface NewBulkStop {
  readonly stopId: string;
  readonly organizationId: string;
  readonly scope: BulkStopScope;
  readonly reason: string | null;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly holdUntil: string | null;
  /** The caller's Idempotency-Key, when it sent one. */
  readonly idempotencyKey?: string;
}

export type CreateBulkStopResult =
  | { readonly kind: "created" }
  | { readonly kind: "existing"; readonly stopId: string };

export interface BulkStopStore {
  /** The bulk stop a caller's Idempotency-Key made, if any. */
  findByIdempotencyKey(organizationId: string, key: string): Promise<string | undefined>;
  /** Saves a new bulk stop, and its Idempotency-Key in the same transaction: a key used before names its bulk stop. */
  create(bulkStop: NewBulkStop): Promise<CreateBulkStopResult>;
  get(stopId: string): Promise<BulkStop | undefined>;
  /** Records the page about to be stopped, if the shard is still at `seenVersion` (which it then moves past). */
  beginShardPage(
    stopId: string,
    shard: number,
    seenVersion: number,
    page: { readonly taskIds: readonly string[]; readonly next: string },
  ): Promise<boolean>;
  /** Saves one page of a shard: its counts and its next cursor, if the shard is still at `seenVersion`. */
  saveShardPage(
    stopId: string,
    shard: number,
    seenVersion: number,
    next: string,
    page: BulkStopCounts & { readonly failedTaskIds: readonly string[] },
  ): Promise<boolean>;
  /** A task a hold stopped at birth. */
  countHeld(stopId: string): Promise<void>;
  /** Marks a running bulk stop done: false when it already was. */
  complete(stopId: string, completedAt: string): Promise<boolean>;
  /** Ends a hold in force now, in the caller's organization: the bulk stop as it is after. */
  endHold(stopId: string, organizationId: string, now: string): Promise<void>;
  /** The holds of one organization in force at `now` (a hold ends at its `hold_until`). */
  holdsInForce(organizationId: string, now: string): Promise<readonly HoldInForce[]>;
}

export interface HoldInForce {
  readonly stopId: string;
  readonly scope: BulkStopScope;
  readonly reason: string | null;
  readonly holdUntil: string;
}

export function idempotencyItemId(organizationId: string, key: string): string {
  return `idempotency:${organizationId}:${createHash("sha256").update(key).digest("hex")}`;
}

function readBulkStop(item: Record<string, AttributeValue>): BulkStop {
  const stored = storedBulkStopSchema.parse(unmarshall(item)) as z.output<typeof storedBulkStopSchema> &
    Record<string, unknown>;
  return {
    stop_id: stored.id,
    organization_id: stored.organization_id,
    scope: stored.scope,
    reason: stored.reason,
    status: stored.status,
    created_at: stored.created_at,
    created_by: stored.created_by,
    hold_until: stored.hold_until,
    hold_ended_at: stored.hold_ended_at,
    completed_at: stored.completed_at,
    matched: stored.matched,
    stopped: stored.stopped,
    already_terminal: stored.already_terminal,
    failed: stored.failed,
    held: stored.held,
    failed_task_ids: stored.failed_task_ids,
    shards: shards.map((shard) => {
      const inFlight = stored[inFlightAttribute(shard)] as { task_ids: string[]; next: string } | null | undefined;
      return {
        cursor: String(stored[cursorAttribute(shard)] ?? ""),
        version: Number(stored[versionAttribute(shard)] ?? 0),
        ...(inFlight ? { inFlight: { taskIds: inFlight.task_ids, next: inFlight.next } } : {}),
      };
    }),
  };
}

const FAILED_IDS_KEPT = 100;

/** One conditional UpdateItem: true when applied, false when its condition refused it. */
async function updateIf(client: DynamoDBClient, input: UpdateItemCommandInput): Promise<boolean> {
  try {
    await client.send(new UpdateItemCommand(input));
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

export function dynamoBulkStopStore(client: DynamoDBClient, tableName: string): BulkStopStore {
  return {
    async findByIdempotencyKey(organizationId, key) {
      const { Item } = await client.send(
        new GetItemCommand({
          TableName: tableName,
          Key: { id: { S: idempotencyItemId(organizationId, key) } },
          ConsistentRead: true,
        }),
      );
      return Item?.stop_id?.S;
    },

    async create(bulkStop) {
      const item = marshall(
        {
          id: bulkStop.stopId,
          organization_id: bulkStop.organizationId,
          scope: bulkStop.scope,
          reason: bulkStop.reason,
          status: "running",
          created_at: bulkStop.createdAt,
          created_by: bulkStop.createdBy,
          hold_until: bulkStop.holdUntil,
          ...(bulkStop.holdUntil === null
            ? {}
            : { idx_hold_organization: bulkStop.organizationId, idx_hold_until: bulkStop.holdUntil }),
          ...noCounts,
          ...Object.fromEntries(shards.map((shard) => [cursorAttribute(shard), ""])),
          ...Object.fromEntries(shards.map((shard) => [versionAttribute(shard), 0])),
        },
        { removeUndefinedValues: true },
      );
      const put = { TableName: tableName, Item: item, ConditionExpression: "attribute_not_exists(id)" };
      if (bulkStop.idempotencyKey === undefined) {
        await client.send(new PutItemCommand(put));
        return { kind: "created" };
      }
      const keyId = idempotencyItemId(bulkStop.organizationId, bulkStop.idempotencyKey);
      try {
        await client.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              { Put: put },
              {
                Put: {
                  TableName: tableName,
                  Item: marshall({
                    id: keyId,
                    organization_id: bulkStop.organizationId,
                    stop_id: bulkStop.stopId,
                    created_at: bulkStop.createdAt,
                  }),
                  ConditionExpression: "attribute_not_exists(id)",
                },
              },
            ],
          }),
        );
        return { kind: "created" };
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        // The key's own Put was refused: a request with the same key won the race. Its bulk stop is the answer.
        const existing = await this.findByIdempotencyKey(bulkStop.organizationId, bulkStop.idempotencyKey);
        if (existing === undefined) throw error;
        return { kind: "existing", stopId: existing };
      }
    },

    async get(stopId) {
      const { Item } = await client.send(
        new GetItemCommand({ TableName: tableName, Key: { id: { S: stopId } }, ConsistentRead: true }),
      );
      return Item?.scope ? readBulkStop(Item) : undefined;
    },

    async beginShardPage(stopId, shard, seenVersion, page) {
      return updateIf(client, {
        TableName: tableName,
        Key: { id: { S: stopId } },
        ConditionExpression: "#version = :seen AND #status = :running",
        UpdateExpression: "SET #in_flight = :in_flight, #version = :next_version",
        ExpressionAttributeNames: {
          "#in_flight": inFlightAttribute(shard),
          "#version": versionAttribute(shard),
          "#status": "status",
        },
        ExpressionAttributeValues: {
          ":seen": { N: String(seenVersion) },
          ":next_version": { N: String(seenVersion + 1) },
          ":running": { S: "running" },
          ":in_flight": marshall({ page: { task_ids: [...page.taskIds], next: page.next } }).page as AttributeValue,
        },
      });
    },

    async saveShardPage(stopId, shard, seenVersion, next, page) {
      const failedIds = page.failedTaskIds.slice(0, FAILED_IDS_KEPT);
      return updateIf(client, {
        TableName: tableName,
        Key: { id: { S: stopId } },
        ConditionExpression: "#version = :seen AND #status = :running",
        UpdateExpression:
          "SET #cursor = :next, #version = :next_version" +
          (failedIds.length > 0
            ? ", failed_task_ids = list_append(if_not_exists(failed_task_ids, :none), :failed_ids)"
            : "") +
          " ADD matched :matched, stopped :stopped, already_terminal :already_terminal, failed :failed",
        ExpressionAttributeNames: {
          "#cursor": cursorAttribute(shard),
          "#version": versionAttribute(shard),
          "#status": "status",
        },
        ExpressionAttributeValues: {
          ":seen": { N: String(seenVersion) },
          ":next_version": { N: String(seenVersion + 1) },
          ":running": { S: "running" },
          ":next": { S: next },
          ":matched": { N: String(page.matched) },
          ":stopped": { N: String(page.stopped) },
          ":already_terminal": { N: String(page.already_terminal) },
          ":failed": { N: String(page.failed) },
          ...(failedIds.length > 0
            ? { ":none": { L: [] }, ":failed_ids": { L: failedIds.map((id) => ({ S: id })) } }
            : {}),
        },
      });
    },

    async countHeld(stopId) {
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: { id: { S: stopId } },
          ConditionExpression: "attribute_exists(id)",
          UpdateExpression: "ADD held :one",
          ExpressionAttributeValues: { ":one": { N: "1" } },
        }),
      );
    },

    async complete(stopId, completedAt) {
      return updateIf(client, {
        TableName: tableName,
        Key: { id: { S: stopId } },
        ConditionExpression: "#status = :running",
        UpdateExpression: "SET #status = :done, completed_at = :at",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: {
          ":running": { S: "running" },
          ":done": { S: "done" },
          ":at": { S: completedAt },
        },
      });
    },

    async endHold(stopId, organizationId, now) {
      await updateIf(client, {
        TableName: tableName,
        Key: { id: { S: stopId } },
        // Tenancy first; only a hold still in force ends (ending an ended one changes nothing).
        ConditionExpression: "organization_id = :org AND idx_hold_until > :now",
        UpdateExpression: "SET hold_until = :now, hold_ended_at = :now REMOVE idx_hold_organization, idx_hold_until",
        ExpressionAttributeValues: { ":org": { S: organizationId }, ":now": { S: now } },
      });
    },

    async holdsInForce(organizationId, now) {
      const holds: HoldInForce[] = [];
      let start: Record<string, AttributeValue> | undefined;
      do {
        const page = await client.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: bulkStopsTable.globalSecondaryIndexes[0].indexName,
            KeyConditionExpression: "idx_hold_organization = :org AND idx_hold_until > :now",
            ExpressionAttributeValues: { ":org": { S: organizationId }, ":now": { S: now } },
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const item of page.Items ?? []) {
          const bulkStop = readBulkStop(item);
          // The index is bookkeeping: the item's own organization decides, never the index key alone.
          if (bulkStop.organization_id !== organizationId || bulkStop.hold_until === null) continue;
          holds.push({
            stopId: bulkStop.stop_id,
            scope: bulkStop.scope,
            reason: bulkStop.reason,
            holdUntil: bulkStop.hold_until,
          });
        }
        start = page.LastEvaluatedKey;
      } while (start);
      return holds;
    },
  };
}
