import { randomUUID } from "node:crypto";
import { UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capturedLogLines } from "../../support/capture-logs.js";
import { type ExecutionStreamHarness, startExecutionStream } from "../../support/execution-stream-harness.js";
import { anExecution, aStopRequest, FACTORY_WORKER_ID } from "../../support/factories.js";
import { type LocalAws, provisionIsolatedStack, putItem, storeApiKey } from "../../support/local-aws.js";
import { type StopTaskHarness, stopTaskHarness } from "../../support/stop-task-harness.js";
import {
  counts,
  drainEvents,
  drainStopMessages,
  eventually,
  storedExecution,
  storeTree,
  type TreeNode,
} from "../../support/task-tree.js";

const ORG_A_KEY = `sk-org-a-${randomUUID()}`;
const ENVIRONMENT = "env-onprem-eu";

let aws: LocalAws;
let service: StopTaskHarness;
let stream: ExecutionStreamHarness;

beforeAll(async () => {
  aws = await provisionIsolatedStack({ environments: [ENVIRONMENT] });
  await storeApiKey(aws, { key: ORG_A_KEY, organizationId: "org-a", keyId: "key-a" });
  service = stopTaskHarness(aws);
  stream = await startExecutionStream(aws);
});

afterAll(async () => {
  await stream?.stop();
});

/**
 * Depth 3 below the root, with every kind of child: running in each state, terminal in each
 * state, self-hosted, of another organization (with a child of ours below it), and an id that
 * names no record.
 */
const tree: TreeNode = {
  name: "root",
  children: [
    {
      name: "a",
      children: [
        { name: "a1", status: "paused", children: [{ name: "a1x", status: "pending" }] },
        { name: "a2", status: "completed" },
        { name: "a3", status: "error", environment: ENVIRONMENT, children: [{ name: "a3x" }] },
      ],
    },
    // Already terminal: kept as they are, and their branch ends there.
    { name: "b", status: "completed", children: [{ name: "b1" }] },
    {
      name: "c",
      status: "stopped",
      fields: { stopped_at: "2026-11-25T10:03:00.000Z", stop_reason: "user_requested" },
      children: [{ name: "c1", status: "completed" }],
    },
    { name: "d", status: "failed" },
    // Another organization's: never touched, nor anything below it.
    { name: "e", organization: "org-b", children: [{ name: "e1" }] },
  ],
};
const expectedStopped = ["root", "a", "a1", "a1x", "a3", "a3x"];

describe("a stop reaches every running sub-execution, down the tree", () => {
  it(
    "stops exactly the running nodes of the caller's organization: " +
      "one message each, one Task Stopped each, nothing for the rest",
    async () => {
      const stored = await storeTree(aws, tree);
      // A listed sub-execution that was never written is passed over.
      await putItem(aws.dynamoDb, aws.resources.tables.executions, {
        ...stored.records.root,
        sub_executions: [...((stored.records.root?.sub_executions ?? []) as string[]), randomUUID()],
      });
      await stream.settled();
      await drainEvents(aws);
      const before = Object.fromEntries(
        await Promise.all(
          Object.entries(stored.ids).map(async ([name, id]) => [name, await storedExecution(aws, id)] as const),
        ),
      );

      const response = await service.http(
        aStopRequest(stored.ids.root ?? "", ORG_A_KEY, [], {
          body: JSON.stringify({ reason: "Customer cancelled the run" }),
        }),
      );
      expect(response.statusCode).toBe(200);
      await stream.settled();

      for (const name of expectedStopped.slice(1)) {
        const record = await storedExecution(aws, stored.ids[name] ?? "");
        const parentName = Object.entries(stored.records).find(([, parent]) =>
          (parent.sub_executions as string[]).includes(stored.ids[name] ?? ""),
        )?.[0];
        expect(record, name).toMatchObject({
          status: "stopped",
          stop_reason: "parent_stopped",
          stopped_by: `parent_execution:${stored.ids[parentName ?? ""]}`,
          is_manually_stopped: true,
          stop_note: "Customer cancelled the run",
          version: 1,
        });
      }
      for (const name of Object.keys(stored.ids).filter((name) => !expectedStopped.includes(name))) {
        expect(await storedExecution(aws, stored.ids[name] ?? ""), name).toEqual(before[name]);
      }

      const messages = await drainStopMessages(aws, [ENVIRONMENT]);
      expect(counts(messages.map((message) => stored.names[message.task_id] ?? message.task_id))).toEqual(
        Object.fromEntries(expectedStopped.map((name) => [name, 1])),
      );
      expect(messages.find((message) => message.task_id === stored.ids.a3)).toMatchObject({
        queue: "environment",
        environment_id: "env-onprem-eu",
      });
      expect(messages.find((message) => message.task_id === stored.ids.a1x)).toMatchObject({
        queue: "fleet",
        worker_id: FACTORY_WORKER_ID,
        reason: "parent_stopped",
        requested_by: `parent_execution:${stored.ids.a1}`,
        note: "Customer cancelled the run",
        is_manually_stopped: true,
      });

      const events = await drainEvents(aws);
      expect(events.every((event) => event["detail-type"] === "Task Stopped" && event.source === "stop-task")).toBe(
        true,
      );
      expect(counts(events.map((event) => stored.names[event.detail.task_id] ?? event.detail.task_id))).toEqual(
        Object.fromEntries(expectedStopped.map((name) => [name, 1])),
      );
      const a3Event = events.find((event) => event.detail.task_id === stored.ids.a3);
      const a3Record = await storedExecution(aws, stored.ids.a3 ?? "");
      expect(a3Event?.detail).toEqual({
        task_id: stored.ids.a3,
        organization_id: "org-a",
        agent_id: stored.records.a3?.agent_id,
        parent_execution: stored.ids.a,
        is_manually_stopped: true,
        stop_reason: "parent_stopped",
        stopped_by: `parent_execution:${stored.ids.a}`,
        stopped_at: a3Record?.stopped_at,
        stop_note: "Customer cancelled the run",
        idempotency_key: a3Record?.stop_request_id,
      });
      expect(a3Event?.time).toBe(`${String(a3Record?.stopped_at).slice(0, 19)}Z`);
      expect(events.find((event) => event.detail.task_id === stored.ids.root)?.detail).toMatchObject({
        parent_execution: null,
        stop_reason: "user_requested",
        stopped_by: "key-a",
      });

      const foreignSkips = capturedLogLines().filter(
        (line) =>
          line.includes("sub-execution of another organization left untouched") && line.includes(stored.ids.e ?? "?"),
      );
      expect(foreignSkips.length).toBeGreaterThanOrEqual(1);
    },
  );

  it("shows each sub-execution stopped in Get Task as soon as it is, while the caller's own stop answered at once", async () => {
    const stored = await storeTree(aws, { name: "top", children: [{ name: "mid", children: [{ name: "leaf" }] }] });
    await stream.settled();
    await drainEvents(aws);

    service.counter.reset();
    const response = await service.http(aStopRequest(stored.ids.top ?? "", ORG_A_KEY));

    expect(JSON.parse(response.body)).toMatchObject({ status: "stopped" });
    // The hot path is unchanged: the caller's answer costs the stop's own two calls, nothing for the tree.
    expect(service.counter.calls).toEqual(["UpdateItemCommand", "SendMessageCommand"]);
    await eventually(async () => {
      expect(await storedExecution(aws, stored.ids.leaf ?? "")).toMatchObject({
        status: "stopped",
        stop_reason: "parent_stopped",
      });
    });
    await stream.settled();
    await drainStopMessages(aws, [ENVIRONMENT]);
    expect(await drainEvents(aws)).toHaveLength(3);
  });
});

describe("a stop by any path cascades", () => {
  it("the cleanup's direct invoke: a system stop, so the tree is stopped with is_manually_stopped false", async () => {
    const stored = await storeTree(aws, {
      name: "stale",
      children: [{ name: "stale.child", children: [{ name: "stale.grandchild" }] }],
    });
    await stream.settled();
    await drainEvents(aws);

    const result = await service.invoke({
      action: "stop_task",
      task_id: stored.ids.stale,
      reason: "stale_heartbeat",
      requested_by: "system:cleanup",
    });
    expect(result).toMatchObject({ ok: true, outcome: "stopped" });
    await stream.settled();

    for (const name of ["stale.child", "stale.grandchild"]) {
      expect(await storedExecution(aws, stored.ids[name] ?? ""), name).toMatchObject({
        status: "stopped",
        stop_reason: "parent_stopped",
        is_manually_stopped: false,
      });
    }
    const events = await drainEvents(aws);
    expect(
      events.map((event) => [event.detail.task_id, event.detail.stop_reason, event.detail.is_manually_stopped]),
    ).toEqual(
      expect.arrayContaining([
        [stored.ids.stale, "stale_heartbeat", false],
        [stored.ids["stale.child"], "parent_stopped", false],
        [stored.ids["stale.grandchild"], "parent_stopped", false],
      ]),
    );
    expect(events).toHaveLength(3);
    await drainStopMessages(aws, [ENVIRONMENT]);
  });

  it("another writer setting the status itself: the tree is stopped, and its Task Stopped is keyed by the stream record", async () => {
    const stored = await storeTree(aws, { name: "platform", children: [{ name: "platform.child" }] });
    await stream.settled();
    await drainEvents(aws);

    // The platform's own service marks it stopped, as boto3 would, without this service's bookkeeping.
    await aws.dynamoDb.send(
      new UpdateItemCommand({
        TableName: aws.resources.tables.executions,
        Key: { id: { S: stored.ids.platform ?? "" } },
        UpdateExpression: "SET #status = :stopped, stopped_at = :at, is_manually_stopped = :null",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: {
          ":stopped": { S: "stopped" },
          ":at": { S: "2026-12-01 09:30:00.5" },
          ":null": { NULL: true },
        },
      }),
    );
    await stream.settled();

    expect(await storedExecution(aws, stored.ids["platform.child"] ?? "")).toMatchObject({
      status: "stopped",
      stop_reason: "parent_stopped",
      is_manually_stopped: false,
    });
    const events = await drainEvents(aws);
    const parentEvent = events.find((event) => event.detail.task_id === stored.ids.platform);
    expect(parentEvent?.detail).toMatchObject({
      stopped_at: "2026-12-01T09:30:00.500000Z",
      is_manually_stopped: false,
      stop_reason: null,
    });
    expect(parentEvent?.detail.idempotency_key).toMatch(/^stream:/);
    expect(events).toHaveLength(2);
    await drainStopMessages(aws, [ENVIRONMENT]);
  });
});

describe("a sub-execution written after its parent stopped", () => {
  it("is stopped as soon as it is written, whether or not the parent lists it yet", async () => {
    const stored = await storeTree(aws, { name: "orchestrator", children: [{ name: "first" }] });
    await service.http(
      aStopRequest(stored.ids.orchestrator ?? "", ORG_A_KEY, [], { body: '{"reason": "over budget"}' }),
    );
    await stream.settled();
    await drainStopMessages(aws, [ENVIRONMENT]);
    await drainEvents(aws);

    // The orchestrator raced the stop: it starts a child naming its (already stopped) parent, then lists it.
    const late = anExecution({ parent_execution: stored.ids.orchestrator });
    await putItem(aws.dynamoDb, aws.resources.tables.executions, late);
    await stream.settled();

    expect(await storedExecution(aws, String(late.id))).toMatchObject({
      status: "stopped",
      stop_reason: "parent_stopped",
      stopped_by: `parent_execution:${stored.ids.orchestrator}`,
      stop_note: "over budget",
      is_manually_stopped: true,
    });
    const parent = await storedExecution(aws, stored.ids.orchestrator ?? "");
    await putItem(aws.dynamoDb, aws.resources.tables.executions, {
      ...parent,
      sub_executions: [...((parent?.sub_executions ?? []) as string[]), late.id],
    });
    await stream.settled();

    expect((await drainStopMessages(aws)).map((message) => message.task_id)).toEqual([late.id]);
    expect((await drainEvents(aws)).map((event) => [event["detail-type"], event.detail.task_id])).toEqual([
      ["Task Stopped", late.id],
    ]);
  });

  it("is stopped when only appended to the stopped parent's sub_executions", async () => {
    const stored = await storeTree(aws, { name: "parent" });
    await service.http(aStopRequest(stored.ids.parent ?? "", ORG_A_KEY));
    await stream.settled();

    // A child written before the stop (no parent named) and listed only afterwards.
    const orphan = (await storeTree(aws, { name: "orphan" })).records.orphan ?? {};
    const parent = await storedExecution(aws, stored.ids.parent ?? "");
    await putItem(aws.dynamoDb, aws.resources.tables.executions, { ...parent, sub_executions: [orphan.id] });
    await stream.settled();

    expect(await storedExecution(aws, String(orphan.id))).toMatchObject({
      status: "stopped",
      stop_reason: "parent_stopped",
      is_manually_stopped: true,
    });
    await drainStopMessages(aws, [ENVIRONMENT]);
    await drainEvents(aws);
  });

  it("is left alone when its parent is still running, or belongs to another organization", async () => {
    const running = await storeTree(aws, { name: "running-parent" });
    const foreign = await storeTree(aws, {
      name: "foreign-parent",
      organization: "org-b",
      status: "stopped",
      fields: { stopped_at: "2026-11-25T10:03:00.000Z" },
    });
    await stream.settled();
    await drainEvents(aws);

    const children = [
      anExecution({ parent_execution: running.ids["running-parent"] }),
      anExecution({ parent_execution: foreign.ids["foreign-parent"] }),
    ];
    for (const child of children) await putItem(aws.dynamoDb, aws.resources.tables.executions, child);
    await stream.settled();

    for (const child of children)
      expect(await storedExecution(aws, String(child.id))).toMatchObject({ status: "executing" });
    expect(await drainStopMessages(aws)).toEqual([]);
    expect(await drainEvents(aws)).toEqual([]);
  });
});
