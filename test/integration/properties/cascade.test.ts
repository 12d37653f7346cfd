import { randomUUID } from "node:crypto";
import * as fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { executionStatuses, isActive } from "../../../lib/execution.js";
import { type ExecutionStreamHarness, startExecutionStream } from "../../support/execution-stream-harness.js";
import { anExecution, aStopRequest } from "../../support/factories.js";
import { type LocalAws, provisionIsolatedStack, putItem, storeApiKey } from "../../support/local-aws.js";
import { type StopTaskHarness, stopTaskHarness } from "../../support/stop-task-harness.js";
import { counts, drainEvents, drainStopMessages, storedExecution } from "../../support/task-tree.js";

/**
 * Property: for a random tree of executions (random states, a few of another organization) and
 * random stops of any of its nodes, issued all at once (the same node more than once, a node and
 * its ancestor together), every node the stops reach ends stopped exactly once, with one stop
 * message and one Task Stopped event, and every other node is exactly as it was. A node is reached
 * when it was running, in the caller's organization, and was stopped itself or its parent ended
 * stopped by this run. Writing the tree is checked the same way: a node written already stopped
 * has its Task Stopped, and its running sub-executions (of its organization) are stopped. The processor stops two
 * sub-executions a record, so wide nodes continue
 * over several records while other stops race them. fast-check prints the seed and the shrunk
 * tree when a run fails.
 */

const NUM_RUNS = 30;
const KEY = `sk-cascade-property-${randomUUID()}`;

let aws: LocalAws;
let service: StopTaskHarness;
let stream: ExecutionStreamHarness;

beforeAll(async () => {
  aws = await provisionIsolatedStack();
  await storeApiKey(aws, { key: KEY, organizationId: "org-a", keyId: "key-a" });
  service = stopTaskHarness(aws);
  stream = await startExecutionStream(aws, { childrenPerRecord: 2 });
});

afterAll(async () => {
  await stream?.stop();
});

interface NodeSeed {
  /** Index of the parent among the nodes before this one; the first node is the root. */
  readonly parent: number;
  readonly status: (typeof executionStatuses)[number];
  readonly organization: "org-a" | "org-b";
}

const nodeSeed = (index: number): fc.Arbitrary<NodeSeed> =>
  fc.record({
    parent: fc.nat({ max: Math.max(0, index - 1) }),
    status: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom("pending", "executing", "paused", "error") },
      { weight: 1, arbitrary: fc.constantFrom(...executionStatuses) },
    ),
    organization: fc.oneof(
      { weight: 6, arbitrary: fc.constant("org-a" as const) },
      { weight: 1, arbitrary: fc.constant("org-b" as const) },
    ),
  });

const treeSeed = fc
  .integer({ min: 1, max: 24 })
  .chain((size) => fc.tuple(...Array.from({ length: size }, (_, index) => nodeSeed(index))));
const scenario = treeSeed.chain((nodes) =>
  fc.record({
    nodes: fc.constant(nodes),
    stops: fc.array(fc.nat({ max: nodes.length - 1 }), { minLength: 1, maxLength: 6 }),
  }),
);

/**
 * The nodes the cascade stops while the tree is written: a running node whose parent was written
 * already stopped (by some other writer), or was stopped that way, in the same organization.
 */
function reachedWhileWritten(nodes: readonly NodeSeed[]): Set<number> {
  const result = new Set<number>();
  nodes.forEach((node, index) => {
    const parent = nodes[node.parent];
    if (index === 0 || !parent || !isActive(node.status) || parent.organization !== node.organization) return;
    if (parent.status === "stopped" || result.has(node.parent)) result.add(index);
  });
  return result;
}

/**
 * Then the nodes the stops reach: running, in the caller's organization, stopped themselves or below a node they
 * stopped.
 */
function reachedByStops(
  nodes: readonly NodeSeed[],
  alreadyStopped: Set<number>,
  stops: readonly number[],
): Set<number> {
  const result = new Set<number>();
  nodes.forEach((node, index) => {
    const parentReached = index > 0 && result.has(node.parent);
    if (
      isActive(node.status) &&
      !alreadyStopped.has(index) &&
      node.organization === "org-a" &&
      (stops.includes(index) || parentReached)
    )
      result.add(index);
  });
  return result;
}

const onceEach = (indexes: Iterable<number>, prefix = "") =>
  Object.fromEntries([...indexes].map((index) => [`${prefix}${index}`, 1]));

describe("property: random trees, random concurrent stops of any nodes", () => {
  it("stop exactly the nodes they reach, each once, with one message and one Task Stopped", {
    timeout: 300_000,
  }, async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ nodes, stops }) => {
        const ids = nodes.map(() => randomUUID());
        const records = nodes.map((node, index) =>
          anExecution({
            id: ids[index],
            status: node.status,
            organization_id: node.organization,
            parent_execution: index === 0 ? null : ids[node.parent],
            sub_executions: ids.filter((_, child) => child > 0 && nodes[child]?.parent === index),
            ...(node.status === "completed" || node.status === "failed" || node.status === "stopped"
              ? { finished_at: "2026-11-25T10:05:00.000Z" }
              : {}),
          }),
        );
        const byId = Object.fromEntries(ids.map((id, index) => [id, index]));
        const stoppedEvents = async () =>
          counts((await drainEvents(aws)).map((event) => `${event["detail-type"]}:${byId[event.detail.task_id]}`));
        const messagesByNode = async () =>
          counts((await drainStopMessages(aws)).map((message) => String(byId[message.task_id])));

        // Children first, as an orchestrator writes them. A node written already stopped is a
        // transition too (Task Stopped), and its running sub-executions are stopped.
        for (const record of [...records].reverse())
          await putItem(aws.dynamoDb, aws.resources.tables.executions, record);
        await stream.settled();
        const whileWritten = reachedWhileWritten(nodes);
        const writtenStopped = nodes.flatMap((node, index) => (node.status === "stopped" ? [index] : []));
        expect(await messagesByNode()).toEqual(onceEach(whileWritten));
        expect(await stoppedEvents()).toEqual(onceEach([...writtenStopped, ...whileWritten], "Task Stopped:"));
        const before = await Promise.all(ids.map((id) => storedExecution(aws, id)));

        await Promise.all(stops.map((index) => service.http(aStopRequest(ids[index] ?? "", KEY))));
        await stream.settled(60_000);

        const expected = reachedByStops(nodes, whileWritten, stops);
        for (const [index, id] of ids.entries()) {
          const record = await storedExecution(aws, id);
          if (expected.has(index))
            expect(record, `node ${index}`).toMatchObject({ status: "stopped", version: 1, is_manually_stopped: true });
          else expect(record, `node ${index}`).toEqual(before[index]);
        }
        expect(await messagesByNode()).toEqual(onceEach(expected));
        expect(await stoppedEvents()).toEqual(onceEach(expected, "Task Stopped:"));
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
