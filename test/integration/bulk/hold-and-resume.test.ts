import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { BULK_STOP_COMPLETED } from "../../../lib/bulk-stop/events.js";
import type { BulkStopStore } from "../../../lib/bulk-stop/store.js";
import { formatTimestamp } from "../../../lib/timestamp.js";
import {
  aBulkStopLookup,
  aBulkStopRequest,
  bulkStopHarness,
  readView,
  useBulkStopStack,
} from "../../support/bulk-stop-harness.js";
import { anExecution } from "../../support/factories.js";
import { drainQueue, getStoredItem, workerQueueUrl } from "../../support/local-aws.js";
import { platformCorpus, platformKeys, putPlatformExecution } from "../../support/platform-records.js";

const KEY_A = "sk_live_hold_a_1";
const KEY_B = "sk_live_hold_b_1";

const stack = useBulkStopStack({ orgA: KEY_A, orgB: KEY_B });

const stored = (id: string) => getStoredItem(stack.aws.dynamoDb, stack.aws.resources.tables.executions, id);

const seed = (tasks: Record<string, unknown>[]) => stack.seed(tasks);

describe("a hold", () => {
  it(
    "stops at birth a task in scope that is inserted or starts while it lasts (stop_reason held), none out of scope " +
      "or of another organization, and nothing once it has ended",
    async () => {
      const bulk = bulkStopHarness(stack.aws);
      const agent = `agent-${randomUUID()}`;
      const [before] = await seed([anExecution({ agent_id: agent })]);
      const view = readView(
        await bulk.http(
          aBulkStopRequest({ scope: { agent_id: agent }, reason: "trigger loop", hold_seconds: 600 }, KEY_A),
        ),
      );
      expect(view.hold_active).toBe(true);
      await bulk.runJobs(view.stop_id);
      expect(await stored(before as string)).toMatchObject({ status: "stopped", stop_reason: "bulk_stop" });

      // Born during the hold: a pending insert no worker has touched, an executing one, one the platform writes as
      // pydantic does (nulls everywhere), another agent's, and the same agent in another organization.
      const [pending, executing] = await seed([
        anExecution({ agent_id: agent, status: "pending", started_at: null, worker_id: null }),
        anExecution({ agent_id: agent, status: "executing", started_at: formatTimestamp(new Date()) }),
      ]);
      const platformRunning = platformCorpus.records.find((record) => record.status === "executing" && record.readable);
      if (!platformRunning) throw new Error("the corpus has a running record");
      const platformId = randomUUID();
      await putPlatformExecution(stack.aws, platformRunning, platformId);
      const [otherAgent, otherOrganization] = await seed([
        anExecution({ agent_id: `${agent}-other` }),
        anExecution({ agent_id: agent, organization_id: "org-b" }),
      ]);
      await stack.stream.settled();

      for (const id of [pending, executing]) {
        expect(await stored(id as string)).toMatchObject({
          status: "stopped",
          stop_reason: "held",
          stopped_by: `bulk:${view.stop_id}`,
          is_manually_stopped: true,
          stop_note: "trigger loop",
        });
      }
      // The platform's record is another organization's (org-platform): not this hold's.
      expect(await stored(platformId)).toMatchObject({ status: "executing" });
      expect(await stored(otherAgent as string)).toMatchObject({ status: "executing" });
      expect(await stored(otherOrganization as string)).toMatchObject({ status: "executing" });
      expect(readView(await bulk.http(aBulkStopLookup(view.stop_id, KEY_A)))).toMatchObject({ held: 2, stopped: 1 });

      const ended = await bulk.http(aBulkStopLookup(view.stop_id, KEY_A, true));
      expect(ended.statusCode).toBe(200);
      expect(readView(ended)).toMatchObject({ hold_active: false });
      expect(readView(ended).hold_until).not.toBe(view.hold_until);
      // Ending it again changes nothing.
      expect(readView(await bulk.http(aBulkStopLookup(view.stop_id, KEY_A, true))).hold_until).toBe(
        readView(ended).hold_until,
      );
      const [afterHold] = await seed([anExecution({ agent_id: agent })]);
      expect(await stored(afterHold as string)).toMatchObject({ status: "executing" });
    },
  );

  it("of the platform's own organization holds the platform's records, in every running form its writers store", async () => {
    const platformKey = platformKeys.find((key) => key.authorizes);
    if (!platformKey) throw new Error("the corpus has a key that authorizes");
    const bulk = bulkStopHarness(stack.aws);
    await stack.aws.dynamoDb.send(
      new (await import("@aws-sdk/client-dynamodb")).PutItemCommand({
        TableName: stack.aws.resources.tables.api_keys,
        Item: platformKey.item,
      }),
    );
    const running = platformCorpus.records.filter((record) =>
      ["pending", "executing", "paused", "error"].includes(record.status),
    );
    const view = readView(
      await bulk.http(aBulkStopRequest({ scope: { agent_id: "agent-platform" }, hold_seconds: 60 }, platformKey.key)),
    );
    await bulk.runJobs(view.stop_id);
    const ids = running.map(() => randomUUID());
    for (const [index, record] of running.entries())
      await putPlatformExecution(stack.aws, record, ids[index] as string);
    await stack.stream.settled();
    for (const id of ids) expect(await stored(id)).toMatchObject({ status: "stopped", stop_reason: "held" });
    await bulk.http(aBulkStopLookup(view.stop_id, platformKey.key, true));
  });
});

describe("the platform's timestamp forms", () => {
  it("are compared as instants: a window of starts selects exactly the records that started in it, whatever their form", async () => {
    const platformKey = platformKeys.find((key) => key.authorizes);
    if (!platformKey) throw new Error("the corpus has a key that authorizes");
    const bulk = bulkStopHarness(stack.aws);
    const running = platformCorpus.records.filter(
      (record) => ["pending", "executing", "paused", "error"].includes(record.status) && record.readable,
    );
    const ids = running.map(() => randomUUID());
    for (const [index, record] of running.entries())
      await putPlatformExecution(stack.aws, record, ids[index] as string);
    await stack.stream.settled();
    const starts = running.map((record) => Date.parse(record.expected.started_at ?? record.expected.created_at ?? ""));
    const sorted = [...new Set(starts)].sort((a, b) => a - b);
    expect(sorted.length).toBeGreaterThan(1);
    // A bound between two of the corpus's instants, written in an offset form (+01:00) and without fractions.
    const bound = new Date(Math.ceil(((sorted[0] as number) + 1) / 1000) * 1000);
    const offsetForm = `${new Date(bound.getTime() + 3_600_000).toISOString().slice(0, 19)}+01:00`;
    const expected = ids.filter((_, index) => (starts[index] as number) >= bound.getTime());
    const view = readView(
      await bulk.http(
        aBulkStopRequest({ scope: { agent_id: "agent-platform", started_after: offsetForm } }, platformKey.key),
      ),
    );
    await bulk.runJobs(view.stop_id);
    const stoppedNow = [];
    for (const id of ids) if ((await stored(id))?.stopped_by === `bulk:${view.stop_id}`) stoppedNow.push(id);
    expect(stoppedNow.sort()).toEqual([...expected].sort());
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(ids.length);
  });
});

describe("a bulk stop that crashes midway", () => {
  it("finishes on its next run without a stop lost or doubled, and counts each task once", async () => {
    const agent = `agent-${randomUUID()}`;
    const tasks = await seed(Array.from({ length: 40 }, () => anExecution({ agent_id: agent })));
    await drainQueue(stack.aws.sqs, workerQueueUrl(stack.aws));
    await drainQueue(stack.aws.sqs, stack.aws.resources.queues.events);
    let saves = 0;
    const crashing = bulkStopHarness(stack.aws, {
      override: (wired) => ({
        store: {
          ...wired.store,
          // The process dies after its third page's stops, before that page is saved.
          async saveShardPage(...args: Parameters<BulkStopStore["saveShardPage"]>) {
            saves += 1;
            if (saves === 3) throw new Error("Runtime.ExitError: the process died");
            return wired.store.saveShardPage(...args);
          },
        },
      }),
    });
    const view = readView(await crashing.http(aBulkStopRequest({ scope: { agent_id: agent } }, KEY_A)));
    await expect(crashing.runJobs(view.stop_id, { timeoutMs: 10_000 })).rejects.toThrow(/failed/);
    const midway = readView(await crashing.http(aBulkStopLookup(view.stop_id, KEY_A)));
    expect(midway.status).toBe("running");
    expect(midway.stopped).toBeLessThan(40);

    // The message comes back (its visibility timeout, here a new one): the next run resumes from the saved cursors.
    await bulkStopHarness(stack.aws).handler(
      {
        Records: [{ messageId: "retry", body: JSON.stringify({ stop_id: view.stop_id, queued_at: Date.now() }) }],
      } as never,
      (await import("../../../infra/local/lambda-context.js")).localLambdaContext("bulk-stop"),
    );
    await stack.stream.settled();
    const final = readView(await crashing.http(aBulkStopLookup(view.stop_id, KEY_A)));
    expect(final).toMatchObject({ status: "done", matched: 40, stopped: 40, already_terminal: 0, failed: 0 });
    for (const id of tasks) expect(await stored(id)).toMatchObject({ status: "stopped", version: 1 });
    const signals = (await drainQueue(stack.aws.sqs, workerQueueUrl(stack.aws), { waitSeconds: 1 })).map(
      (message) => JSON.parse(message.Body ?? "{}").task_id as string,
    );
    expect(signals.sort()).toEqual([...tasks].sort());
    const events = (await drainQueue(stack.aws.sqs, stack.aws.resources.queues.events, { waitSeconds: 1 })).map(
      (message) => JSON.parse(message.Body ?? "{}") as { "detail-type": string },
    );
    expect(events.filter((event) => event["detail-type"] === "Task Stopped")).toHaveLength(40);
    expect(events.filter((event) => event["detail-type"] === BULK_STOP_COMPLETED)).toHaveLength(1);
  });
});
