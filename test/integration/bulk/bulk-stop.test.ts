import { randomUUID } from "node:crypto";
import { QueryCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { describe, expect, it } from "vitest";
import { localLambdaContext } from "../../../infra/local/lambda-context.js";
import { toSqsEvent } from "../../../infra/local/queue-consumer.js";
import { BULK_STOP_COMPLETED } from "../../../lib/bulk-stop/events.js";
import { executionIndexes } from "../../../lib/resources.js";
import {
  aBulkStopLookup,
  aBulkStopRequest,
  bulkStopHarness,
  readView,
  useBulkStopStack,
} from "../../support/bulk-stop-harness.js";
import { capturedLogLines } from "../../support/capture-logs.js";
import { anExecution } from "../../support/factories.js";
import { drainQueue, getStoredItem, workerQueueUrl } from "../../support/local-aws.js";

const KEY_A = "sk_live_bulk_a_1";
const KEY_B = "sk_live_bulk_b_1";
const AGENT = "agent-looping";

const stack = useBulkStopStack({ orgA: KEY_A, orgB: KEY_B });

async function allItems(table: string): Promise<Record<string, unknown>[]> {
  const { Items = [] } = await stack.aws.dynamoDb.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
  return Items.map((item) => unmarshall(item));
}

/** Every table and queue a request could change, as it is now. */
async function snapshot() {
  const executions = await allItems(stack.aws.resources.tables.executions);
  return {
    executions: executions.sort((a, b) => String(a.id).localeCompare(String(b.id))),
    bulkStops: await allItems(stack.aws.resources.tables.bulk_stops),
  };
}

const seed = (tasks: Record<string, unknown>[]) => stack.seed(tasks);

describe("POST /v1/stops: answers in the order of every route, and a refusal changes nothing", () => {
  it("401 before anything, even for a malformed body; then 422 for a malformed or empty scope", async () => {
    const bulk = bulkStopHarness(stack.aws);
    await seed([anExecution({ agent_id: AGENT })]);
    const before = await snapshot();

    expect((await bulk.http(aBulkStopRequest("{not json", undefined))).statusCode).toBe(401);
    expect((await bulk.http(aBulkStopRequest({ scope: {} }, "sk_live_wrong"))).statusCode).toBe(401);

    const cases: [unknown, unknown[]][] = [
      ["{not json", [{ loc: ["body"], msg: "JSON decode error", type: "json_invalid" }]],
      [{}, [{ loc: ["body", "scope"], msg: "Field required", type: "missing" }]],
      [{ scope: {} }, [expect.objectContaining({ loc: ["body", "scope"], type: "value_error" })]],
      [
        { scope: { statuses: ["executing"] } },
        [expect.objectContaining({ loc: ["body", "scope"], type: "value_error" })],
      ],
      [
        { scope: { agentid: AGENT, started_after: "2026-11-01T00:00:00Z" } },
        [{ loc: ["body", "scope", "agentid"], msg: "Extra inputs are not permitted", type: "extra_forbidden" }],
      ],
      [
        { scope: { started_after: "yesterday" } },
        [expect.objectContaining({ loc: ["body", "scope", "started_after"], type: "datetime_parsing" })],
      ],
      [
        { scope: { started_after: "2026-11-02T00:00:00Z", started_before: "2026-11-01T00:00:00Z" } },
        [expect.objectContaining({ loc: ["body", "scope", "started_before"], type: "value_error" })],
      ],
      [
        { scope: { agent_id: AGENT, statuses: ["completed"] } },
        [expect.objectContaining({ loc: ["body", "scope", "statuses", 0] })],
      ],
      [{ scope: { agent_id: AGENT }, hold_seconds: 0 }, [expect.objectContaining({ loc: ["body", "hold_seconds"] })]],
      [
        { scope: { agent_id: AGENT }, dry_run: "yes" },
        [expect.objectContaining({ loc: ["body", "dry_run"], type: "bool_type" })],
      ],
    ];
    for (const [body, detail] of cases) {
      const response = await bulk.http(aBulkStopRequest(body, KEY_A));
      expect({ body, status: response.statusCode }).toEqual({ body, status: 422 });
      expect(JSON.parse(response.body).detail).toEqual(detail);
    }
    expect(await snapshot()).toEqual(before);
    expect(await drainQueue(stack.aws.sqs, stack.aws.resources.queues.bulk_stop_jobs)).toEqual([]);
  });

  it("GET and DELETE hold: 401, then 422 for a malformed id, then 404, then 403 for another organization's", async () => {
    const bulk = bulkStopHarness(stack.aws);
    const created = readView(
      await bulk.http(aBulkStopRequest({ scope: { agent_id: `agent-${randomUUID()}` }, hold_seconds: 600 }, KEY_B)),
    );
    const before = await snapshot();
    for (const endHold of [false, true]) {
      expect((await bulk.http(aBulkStopLookup("not-a-uuid", undefined, endHold))).statusCode).toBe(401);
      expect((await bulk.http(aBulkStopLookup(created.stop_id, "sk_live_wrong", endHold))).statusCode).toBe(401);
      const malformed = await bulk.http(aBulkStopLookup("not-a-uuid", KEY_A, endHold));
      expect(malformed.statusCode).toBe(422);
      expect(JSON.parse(malformed.body).detail).toEqual([
        { loc: ["path", "stop_id"], msg: "Input should be a valid UUID", type: "uuid_parsing" },
      ]);
      const missing = await bulk.http(aBulkStopLookup(randomUUID(), KEY_A, endHold));
      expect([missing.statusCode, JSON.parse(missing.body)]).toEqual([404, { detail: "Bulk stop not found" }]);
      const foreign = await bulk.http(aBulkStopLookup(created.stop_id, KEY_A, endHold));
      expect([foreign.statusCode, JSON.parse(foreign.body)]).toEqual([
        403,
        { detail: "Bulk stop belongs to a different organization" },
      ]);
    }
    // Another organization's DELETE left the hold in force.
    expect(await snapshot()).toEqual(before);
    const own = readView(await bulk.http(aBulkStopLookup(created.stop_id, KEY_B)));
    expect(own.hold_active).toBe(true);
    await bulk.runJobs(created.stop_id);
  });
});

describe("a bulk stop", () => {
  it("dry run: counts the running tasks in scope, in the caller's organization only, and changes nothing", async () => {
    const bulk = bulkStopHarness(stack.aws);
    const agent = `agent-${randomUUID()}`;
    await seed([
      anExecution({ agent_id: agent, status: "executing" }),
      anExecution({ agent_id: agent, status: "pending", started_at: null }),
      anExecution({ agent_id: agent, status: "paused" }),
      anExecution({ agent_id: agent, status: "completed", finished_at: "2026-11-25T10:05:00Z" }),
      anExecution({ agent_id: `${agent}-other` }),
      anExecution({ agent_id: agent, organization_id: "org-b" }),
    ]);
    const before = await snapshot();
    const response = await bulk.http(aBulkStopRequest({ scope: { agent_id: agent }, dry_run: true }, KEY_A));
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toEqual({
      dry_run: true,
      scope: { agent_id: agent, statuses: ["pending", "executing", "paused", "error"] },
      matched: 3,
    });
    const onlyExecuting = await bulk.http(
      aBulkStopRequest({ scope: { agent_id: agent, statuses: ["executing"] }, dry_run: true }, KEY_A),
    );
    expect(JSON.parse(onlyExecuting.body).matched).toBe(1);
    expect(await snapshot()).toEqual(before);
    expect(await drainQueue(stack.aws.sqs, stack.aws.resources.queues.bulk_stop_jobs)).toEqual([]);
  });

  it(
    "stops every running task in scope through the stop core (one write, one message, one Task Stopped event each), " +
      "counts them, emits one Bulk Stop Completed, and never reads or touches another organization's",
    async () => {
      const bulk = bulkStopHarness(stack.aws);
      const agent = `agent-${randomUUID()}`;
      const inScope = await seed(
        Array.from({ length: 30 }, (_, index) =>
          anExecution({ agent_id: agent, status: ["pending", "executing", "paused", "error"][index % 4] }),
        ),
      );
      const [finished, otherAgent] = await seed([
        anExecution({ agent_id: agent, status: "completed", finished_at: "2026-11-25T10:05:00Z" }),
        anExecution({ agent_id: `${agent}-other` }),
      ]);
      const foreign = await seed(
        Array.from({ length: 10 }, () => anExecution({ agent_id: agent, organization_id: "org-b" })),
      );
      const foreignBefore = await Promise.all(
        foreign.map((id) => getStoredItem(stack.aws.dynamoDb, stack.aws.resources.tables.executions, id)),
      );
      await drainQueue(stack.aws.sqs, workerQueueUrl(stack.aws));
      await drainQueue(stack.aws.sqs, stack.aws.resources.queues.events);

      const created = await bulk.http(aBulkStopRequest({ scope: { agent_id: agent }, reason: "bad deploy" }, KEY_A));
      expect(created.statusCode).toBe(202);
      const view = readView(created);
      expect(view).toMatchObject({ status: "running", matched: 30, scope: { agent_id: agent }, reason: "bad deploy" });
      await bulk.runJobs(view.stop_id);
      await stack.stream.settled();

      for (const id of inScope) {
        const item = await getStoredItem(stack.aws.dynamoDb, stack.aws.resources.tables.executions, id);
        expect(item).toMatchObject({
          status: "stopped",
          stop_reason: "bulk_stop",
          stopped_by: `bulk:${view.stop_id}`,
          is_manually_stopped: true,
          stop_note: "bad deploy",
          version: 1,
        });
        // The stop's own write took it out of the organization index, bookkeeping and all.
        expect(item).not.toHaveProperty("idx_org_shard");
        expect(item).not.toHaveProperty("idx_org_since");
      }
      expect(
        await getStoredItem(stack.aws.dynamoDb, stack.aws.resources.tables.executions, finished as string),
      ).toMatchObject({
        status: "completed",
      });
      expect(
        await getStoredItem(stack.aws.dynamoDb, stack.aws.resources.tables.executions, otherAgent as string),
      ).toMatchObject({
        status: "executing",
      });
      const foreignAfter = await Promise.all(
        foreign.map((id) => getStoredItem(stack.aws.dynamoDb, stack.aws.resources.tables.executions, id)),
      );
      expect(foreignAfter).toEqual(foreignBefore);

      const messages = await drainQueue(stack.aws.sqs, workerQueueUrl(stack.aws), { waitSeconds: 1 });
      const signalled = messages.map((message) => JSON.parse(message.Body ?? "{}").task_id as string);
      expect(signalled.sort()).toEqual([...inScope].sort());

      const events = (await drainQueue(stack.aws.sqs, stack.aws.resources.queues.events, { waitSeconds: 1 })).map(
        (message) => JSON.parse(message.Body ?? "{}") as { "detail-type": string; detail: Record<string, unknown> },
      );
      const stoppedEvents = events.filter((event) => event["detail-type"] === "Task Stopped");
      expect(stoppedEvents.map((event) => event.detail.task_id).sort()).toEqual([...inScope].sort());
      const completed = events.filter((event) => event["detail-type"] === BULK_STOP_COMPLETED);
      expect(completed).toHaveLength(1);
      expect(completed[0]?.detail).toMatchObject({
        stop_id: view.stop_id,
        organization_id: "org-a",
        matched: 30,
        stopped: 30,
        already_terminal: 0,
        failed: 0,
      });

      const progress = readView(await bulk.http(aBulkStopLookup(view.stop_id, KEY_A)));
      expect(progress).toMatchObject({ status: "done", matched: 30, stopped: 30, already_terminal: 0, failed: 0 });
      expect(progress.completed_at).not.toBeNull();

      // Stopped tasks left the organization's index: nothing of this scope is found any more.
      const { Count } = await stack.aws.dynamoDb.send(
        new QueryCommand({
          TableName: stack.aws.resources.tables.executions,
          IndexName: executionIndexes.activeByOrganization.indexName,
          KeyConditionExpression: "idx_org_shard = :shard",
          FilterExpression: "agent_id = :agent",
          ExpressionAttributeValues: { ":shard": { S: "org-a#0" }, ":agent": { S: agent } },
        }),
      );
      expect(Count).toBe(0);
    },
  );

  it("with the same Idempotency-Key, a retried request returns the same bulk stop and makes no second one", async () => {
    const bulk = bulkStopHarness(stack.aws);
    const agent = `agent-${randomUUID()}`;
    await seed([anExecution({ agent_id: agent }), anExecution({ agent_id: agent })]);
    const key = `retry-${randomUUID()}`;
    const bulkStopsBefore = (await allItems(stack.aws.resources.tables.bulk_stops)).length;
    const first = readView(
      await bulk.http(aBulkStopRequest({ scope: { agent_id: agent } }, KEY_A, [["Idempotency-Key", key]])),
    );
    const again = await Promise.all(
      [1, 2, 3].map(() =>
        bulk.http(aBulkStopRequest({ scope: { agent_id: agent } }, KEY_A, [["Idempotency-Key", key]])),
      ),
    );
    for (const response of again) {
      expect(response.statusCode).toBe(202);
      expect(readView(response).stop_id).toBe(first.stop_id);
    }
    // The same key from another organization is another organization's key.
    const other = readView(
      await bulk.http(aBulkStopRequest({ scope: { agent_id: agent } }, KEY_B, [["Idempotency-Key", key]])),
    );
    expect(other.stop_id).not.toBe(first.stop_id);
    // One bulk stop and one key item for each organization.
    expect((await allItems(stack.aws.resources.tables.bulk_stops)).length).toBe(bulkStopsBefore + 4);
    await bulk.runJobs(first.stop_id);
    await bulk.runJobs(other.stop_id);
    expect(readView(await bulk.http(aBulkStopLookup(first.stop_id, KEY_A)))).toMatchObject({
      stopped: 2,
      status: "done",
    });
    expect(readView(await bulk.http(aBulkStopLookup(other.stop_id, KEY_B)))).toMatchObject({
      matched: 0,
      status: "done",
    });
  });

  it("records every create request's outcome as one metric: dry run, created, and the same key's replay", async () => {
    const bulk = bulkStopHarness(stack.aws);
    const agent = `agent-${randomUUID()}`;
    await seed([anExecution({ agent_id: agent })]);
    const outcomeLines = (response: { headers?: Record<string, unknown> }) =>
      capturedLogLines()
        .filter((line) => line.includes('"_aws"'))
        .map((line) => JSON.parse(line))
        .filter((record) => record.request_id === response.headers?.["x-request-id"]);
    const key: [string, string][] = [["Idempotency-Key", `metrics-${randomUUID()}`]];
    const dryRun = await bulk.http(aBulkStopRequest({ scope: { agent_id: agent }, dry_run: true }, KEY_A));
    const created = await bulk.http(aBulkStopRequest({ scope: { agent_id: agent } }, KEY_A, key));
    const replayed = await bulk.http(aBulkStopRequest({ scope: { agent_id: agent } }, KEY_A, key));
    const stopId = readView(created).stop_id;
    for (const [response, outcome, extra] of [
      [dryRun, "bulk_stop_dry_run", {}],
      [created, "bulk_stop_created", { stop_id: stopId }],
      [replayed, "bulk_stop_existing", { stop_id: stopId }],
    ] as const) {
      const lines = outcomeLines(response);
      expect(lines, outcome).toHaveLength(1);
      expect(lines[0]).toMatchObject({ outcome, [`Outcome_${outcome}`]: 1, organization_id: "org-a", ...extra });
      expect(lines[0]._aws.CloudWatchMetrics[0].Metrics).toEqual([{ Name: `Outcome_${outcome}`, Unit: "Count" }]);
    }
    // The job handler's runs are counted too: one that finishes, and one whose message cannot be read.
    const metricLines = (name: string) => capturedLogLines().filter((line) => line.includes(`"Name":"${name}"`)).length;
    const runsBefore = metricLines("BulkStopRuns");
    await bulk.runJobs(stopId);
    expect(metricLines("BulkStopRuns")).toBeGreaterThan(runsBefore);
    const droppedBefore = metricLines("BulkStopJobsDropped");
    const unreadable = toSqsEvent(
      { MessageId: `m-${randomUUID()}`, Body: "{not json" },
      "arn:aws:sqs:::jobs",
      "us-east-1",
    );
    expect(await bulk.handler(unreadable, localLambdaContext("bulk-stop"))).toEqual({ batchItemFailures: [] });
    expect(metricLines("BulkStopJobsDropped")).toBe(droppedBefore + 1);
  });
});
