import { randomUUID } from "node:crypto";
import type { Message } from "@aws-sdk/client-sqs";
import { stopMessageSchema } from "../../lib/signals/stop-message.js";
import { type TaskEventEnvelope, taskEventEnvelopeSchema } from "../../lib/task-events.js";
import { anExecution, FACTORY_WORKER_ID } from "./factories.js";
import { drainQueue, environmentQueueUrl, getStoredItem, type LocalAws, putItem, workerQueueUrl } from "./local-aws.js";

/**
 * Trees of executions for the cascade's tests: each node a stored record whose `sub_executions`
 * name its children (and each child's `parent_execution` its parent), as the platform's
 * orchestrator writes them. Every node runs on the test stack's worker (FACTORY_WORKER_ID, whose
 * own queue provisionIsolatedStack makes), or in its environment when it names one.
 */

export interface TreeNode {
  readonly name: string;
  readonly status?: string;
  readonly organization?: string;
  readonly environment?: string;
  readonly children?: readonly TreeNode[];
  /** Any other stored field. */
  readonly fields?: Record<string, unknown>;
}

export interface StoredTree {
  readonly ids: Record<string, string>;
  readonly names: Record<string, string>;
  readonly records: Record<string, Record<string, unknown>>;
}

/** Writes the tree, children first (a child exists before any parent lists it), at most 25 writes at once. */
export async function storeTree(aws: LocalAws, root: TreeNode): Promise<StoredTree> {
  const ids: Record<string, string> = {};
  const names: Record<string, string> = {};
  const records: Record<string, Record<string, unknown>> = {};
  const levels: Record<string, unknown>[][] = [];
  const visit = (node: TreeNode, parentId: string | null, depth: number): string => {
    const id = randomUUID();
    ids[node.name] = id;
    names[id] = node.name;
    const childIds = (node.children ?? []).map((child) => visit(child, id, depth + 1));
    const status = node.status ?? "executing";
    const record = anExecution({
      id,
      status,
      organization_id: node.organization ?? "org-a",
      worker_id: FACTORY_WORKER_ID,
      parent_execution: parentId,
      sub_executions: childIds,
      ...(node.environment ? { environment_id: node.environment } : {}),
      ...(status === "completed" || status === "failed" ? { finished_at: "2026-11-25T10:05:00.000Z" } : {}),
      ...node.fields,
    });
    records[node.name] = record;
    const level = levels[depth] ?? [];
    levels[depth] = level;
    level.push(record);
    return id;
  };
  visit(root, null, 0);
  for (const level of levels.reverse()) {
    for (let start = 0; start < level.length; start += 25) {
      await Promise.all(
        level.slice(start, start + 25).map((record) => putItem(aws.dynamoDb, aws.resources.tables.executions, record)),
      );
    }
  }
  return { ids, names, records };
}

/** A tree `width` wide and `depth` deep under `name`, every node running. */
export function uniformTree(name: string, width: number, depth: number): TreeNode {
  return {
    name,
    children:
      depth === 0 ? [] : Array.from({ length: width }, (_, index) => uniformTree(`${name}.${index}`, width, depth - 1)),
  };
}

export function countNodes(node: TreeNode): number {
  return 1 + (node.children ?? []).reduce((sum, child) => sum + countNodes(child), 0);
}

export const storedExecution = (aws: LocalAws, id: string) =>
  getStoredItem(aws.dynamoDb, aws.resources.tables.executions, id);

/** Every event on the events queue now, parsed as a rule's queue target receives them. */
export async function drainEvents(aws: LocalAws): Promise<TaskEventEnvelope[]> {
  const messages = await drainQueue(aws.sqs, aws.resources.queues.events);
  return messages.map((message: Message) => taskEventEnvelopeSchema.parse(JSON.parse(message.Body ?? "")));
}

/** Every stop message now on the test worker's queue and on those of `environments`, by the queue it was on. */
export async function drainStopMessages(aws: LocalAws, environments: readonly string[] = []) {
  const read = (messages: Message[], queue: "fleet" | "environment") =>
    messages.map((message) => ({ queue, ...stopMessageSchema.parse(JSON.parse(message.Body ?? "")) }));
  const fromEnvironments = await Promise.all(
    environments.map((id) => drainQueue(aws.sqs, environmentQueueUrl(aws, id))),
  );
  return [
    ...read(await drainQueue(aws.sqs, workerQueueUrl(aws)), "fleet"),
    ...fromEnvironments.flatMap((messages) => read(messages, "environment")),
  ];
}

/** How many times each value occurs. */
export function counts(values: readonly string[]): Record<string, number> {
  const tally: Record<string, number> = {};
  for (const value of values) tally[value] = (tally[value] ?? 0) + 1;
  return tally;
}

/** Polls `check` until it passes (or the time runs out, with its last failure). */
export async function eventually(
  check: () => Promise<void>,
  { timeoutMs = 20_000, intervalMs = 50 } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
