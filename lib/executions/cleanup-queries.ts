import { type AttributeValue, type DynamoDBClient, QueryCommand } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { allOf, conditionalUpdate, hasNoOwner, isStopped, stillHolds } from "../conditional-writes.js";
import { executionIndexes } from "../resources.js";
import { type DeadlineWrites, dynamoDeadlineWrites, NO_DEADLINE } from "./deadlines.js";
import { indexAttributes } from "./indexes.js";
import { clearSignalPendingMarker, SIGNAL_PENDING_SINCE } from "./repository.js";

/**
 * What the cleanup reads and writes: pages of the sparse indexes (never a Scan) and claims that
 * make two overlapping runs take each item once.
 */

export interface IndexPage {
  readonly items: Record<string, unknown>[];
  readonly nextPage?: Record<string, AttributeValue>;
}

export interface CleanupQueries extends DeadlineWrites {
  /** Stopped executions whose signal (re)send is due by `dueBy`. */
  dueSignals(shard: string, dueBy: string, limit: number, page?: Record<string, AttributeValue>): Promise<IndexPage>;
  /** Running executions whose last heartbeat is older than `before`. */
  staleHeartbeats(
    shard: string,
    before: string,
    limit: number,
    page?: Record<string, AttributeValue>,
  ): Promise<IndexPage>;
  /** Running executions that started before `before`. */
  startedBefore(
    shard: string,
    before: string,
    limit: number,
    page?: Record<string, AttributeValue>,
  ): Promise<IndexPage>;
  /** Running executions whose duration deadline (lib/executions/deadlines.ts) is `dueBy` or earlier, earliest first. */
  dueDeadlines(shard: string, dueBy: string, limit: number, page?: Record<string, AttributeValue>): Promise<IndexPage>;
  /**
   * One organization's running executions, each shard's read whole with a filter: only after an
   * operator changed the organization's default (lib/cleanup.ts says why no index of its own).
   * `limit` counts the items read, kept or not.
   */
  activeOfOrganization(
    shard: string,
    organizationId: string,
    limit: number,
    page?: Record<string, AttributeValue>,
  ): Promise<IndexPage>;
  /** Takes a due re-send for this run: false when another run took it first. */
  claimRedrive(taskId: string, seenDueAt: string, attempt: number, nextDueAt: string): Promise<boolean>;
  /** Gives up on a signal after the last attempt: the execution leaves the index, flagged for an operator. */
  flagUndeliverable(taskId: string, seenDueAt: string, at: string): Promise<boolean>;
  /**
   * Closes the re-drive of a stop that no worker or environment can receive: the execution leaves the index, marked so.
   */
  closeUnassigned(taskId: string, seenDueAt: string, at: string): Promise<boolean>;
  /** Removes the pending-signal marker this run saw, once its signal went out. */
  clearSignalPending(taskId: string, since: string): Promise<void>;
}

export function dynamoCleanupQueries(client: DynamoDBClient, tableName: string): CleanupQueries {
  async function queryBelow(
    index: { indexName: string; partitionKey: { name: string }; sortKey: { name: string } },
    shard: string,
    bound: string,
    inclusive: boolean,
    limit: number,
    page?: Record<string, AttributeValue>,
    filter?: { expression: string; names: Record<string, string>; values: Record<string, AttributeValue> },
  ): Promise<IndexPage> {
    const { Items = [], LastEvaluatedKey } = await client.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: index.indexName,
        KeyConditionExpression: `#shard = :shard AND #sort ${inclusive ? "<=" : "<"} :bound`,
        ExpressionAttributeNames: { "#shard": index.partitionKey.name, "#sort": index.sortKey.name, ...filter?.names },
        ExpressionAttributeValues: { ":shard": { S: shard }, ":bound": { S: bound }, ...filter?.values },
        ...(filter ? { FilterExpression: filter.expression } : {}),
        Limit: limit,
        ...(page ? { ExclusiveStartKey: page } : {}),
      }),
    );
    return {
      items: Items.map((item) => unmarshall(item)),
      ...(LastEvaluatedKey ? { nextPage: LastEvaluatedKey } : {}),
    };
  }

  const applied = async (update: Promise<{ readonly applied: boolean }>) => (await update).applied;

  return {
    dueSignals: (shard, dueBy, limit, page) =>
      queryBelow(executionIndexes.signalRedrive, shard, dueBy, true, limit, page),
    staleHeartbeats: (shard, before, limit, page) =>
      queryBelow(executionIndexes.activeByHeartbeat, shard, before, false, limit, page),
    startedBefore: (shard, before, limit, page) =>
      queryBelow(executionIndexes.activeByStart, shard, before, false, limit, page),
    dueDeadlines: (shard, dueBy, limit, page) =>
      queryBelow(executionIndexes.activeByDeadline, shard, dueBy, true, limit, page),
    // Every start is a canonical timestamp, before the deadline of a task with none.
    activeOfOrganization: (shard, organizationId, limit, page) =>
      queryBelow(executionIndexes.activeByStart, shard, NO_DEADLINE, true, limit, page, {
        expression: "#organization = :organization",
        names: { "#organization": "organization_id" },
        values: { ":organization": { S: organizationId } },
      }),
    ...dynamoDeadlineWrites(client, tableName),

    claimRedrive: (taskId, seenDueAt, attempt, nextDueAt) =>
      applied(
        conditionalUpdate(client, {
          tableName,
          key: { id: { S: taskId } },
          // The due time works as a version: whoever moves it first owns this attempt.
          condition: allOf(stillHolds(indexAttributes.signalDueAt, seenDueAt), isStopped),
          update: "SET #due = :next, signal_attempts = :attempt",
          names: { "#due": indexAttributes.signalDueAt },
          values: { ":next": { S: nextDueAt }, ":attempt": { N: String(attempt) } },
        }),
      ),

    flagUndeliverable: (taskId, seenDueAt, at) =>
      applied(
        conditionalUpdate(client, {
          tableName,
          key: { id: { S: taskId } },
          condition: stillHolds(indexAttributes.signalDueAt, seenDueAt),
          update: "SET signal_delivery_failed_at = :at REMOVE #due, #shard",
          names: { "#due": indexAttributes.signalDueAt, "#shard": indexAttributes.signalShard },
          values: { ":at": { S: at } },
        }),
      ),

    closeUnassigned: (taskId, seenDueAt, at) =>
      applied(
        conditionalUpdate(client, {
          tableName,
          key: { id: { S: taskId } },
          // Still as this run saw it, and still with no one to tell (a worker assigned meanwhile gets the signal next
          // run).
          condition: allOf(
            stillHolds(indexAttributes.signalDueAt, seenDueAt),
            hasNoOwner("worker_id"),
            hasNoOwner("environment_id"),
          ),
          update: "SET signal_unassigned_at = :at REMOVE #due, #shard, #pending",
          names: {
            "#due": indexAttributes.signalDueAt,
            "#shard": indexAttributes.signalShard,
            "#pending": SIGNAL_PENDING_SINCE,
          },
          values: { ":at": { S: at } },
        }),
      ),

    clearSignalPending: (taskId, since) => clearSignalPendingMarker(client, tableName, taskId, since),
  };
}
