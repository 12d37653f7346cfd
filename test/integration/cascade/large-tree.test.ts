import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ExecutionStreamHarness, startExecutionStream } from "../../support/execution-stream-harness.js";
import { aStopRequest } from "../../support/factories.js";
import { type LocalAws, provisionIsolatedStack, storeApiKey } from "../../support/local-aws.js";
import { stopTaskHarness } from "../../support/stop-task-harness.js";
import {
  countNodes,
  drainEvents,
  drainStopMessages,
  eventually,
  storedExecution,
  storeTree,
  type TreeNode,
} from "../../support/task-tree.js";

const KEY = `sk-large-tree-${randomUUID()}`;

let aws: LocalAws;
let stream: ExecutionStreamHarness;

beforeAll(async () => {
  aws = await provisionIsolatedStack();
  await storeApiKey(aws, { key: KEY, organizationId: "org-a", keyId: "key-a" });
  // The deployed bound: 25 sub-executions a record, the rest through the parent's next records.
  stream = await startExecutionStream(aws);
});

afterAll(async () => {
  await stream?.stop();
});

const leaves = (prefix: string, count: number): TreeNode[] =>
  Array.from({ length: count }, (_, index) => ({ name: `${prefix}.${index}` }));

/**
 * 1,000 descendants: one wide branch (396 sub-executions of one parent: 16 records of 25) and
 * three deep ones (10 sub-executions, each with 19 of its own).
 */
const tree: TreeNode = {
  name: "root",
  children: [
    { name: "wide", children: leaves("wide", 396) },
    ...["d1", "d2", "d3"].map((branch) => ({
      name: branch,
      children: Array.from({ length: 10 }, (_, index) => ({
        name: `${branch}.${index}`,
        children: leaves(`${branch}.${index}`, 19),
      })),
    })),
  ],
};

describe("a tree of 1,000 descendants", () => {
  it("is stopped whole: every node once, with one message and one Task Stopped each", {
    timeout: 240_000,
  }, async () => {
    expect(countNodes(tree) - 1).toBe(1_000);
    const stored = await storeTree(aws, tree);
    await stream.settled(60_000);
    await drainEvents(aws);

    const startedAt = performance.now();
    const response = await stopTaskHarness(aws).http(aStopRequest(stored.ids.root ?? "", KEY));
    expect(response.statusCode).toBe(200);
    const answeredMs = performance.now() - startedAt;
    await eventually(
      async () => {
        for (const name of ["wide.395", "d3.9.18", "d1.0.0"])
          expect((await storedExecution(aws, stored.ids[name] ?? ""))?.status).toBe("stopped");
      },
      { timeoutMs: 180_000, intervalMs: 200 },
    );
    await stream.settled(180_000);
    const wholeTreeMs = performance.now() - startedAt;
    console.info(
      `1,000-descendant tree: caller answered in ${answeredMs.toFixed(0)} ms, whole ` +
        `tree stopped and its events out in ${(wholeTreeMs / 1000).toFixed(1)} s`,
    );

    const ids = Object.values(stored.ids);
    const records = await Promise.all(ids.map((id) => storedExecution(aws, id)));
    expect(records.filter((record) => record?.status === "stopped" && record.version === 1)).toHaveLength(1_001);
    const messages = await drainStopMessages(aws);
    expect(messages).toHaveLength(1_001);
    expect(new Set(messages.map((message) => message.task_id))).toEqual(new Set(ids));
    const events = await drainEvents(aws);
    expect(events).toHaveLength(1_001);
    expect(new Set(events.map((event) => event.detail.task_id))).toEqual(new Set(ids));
  });
});
