import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type QueueConsumer, type QueueHandler, startQueueConsumer } from "../../../infra/local/queue-consumer.js";
import { createTaskClient, TaskValidationError } from "../../../lib/client.js";
import { bulkStopHarness } from "../../support/bulk-stop-harness.js";
import { type ExecutionStreamHarness, startExecutionStream } from "../../support/execution-stream-harness.js";
import { anExecution } from "../../support/factories.js";
import { type InProcessApi, startInProcessApi } from "../../support/in-process-api.js";
import { getStoredItem, type LocalAws, provisionIsolatedStack, putItem, storeApiKey } from "../../support/local-aws.js";

const KEY = `sk-client-bulk-${randomUUID()}`;
let aws: LocalAws;
let stream: ExecutionStreamHarness;
let api: InProcessApi;
let jobs: QueueConsumer;

beforeAll(async () => {
  aws = await provisionIsolatedStack();
  await storeApiKey(aws, { key: KEY, organizationId: "org-a", keyId: "key-a" });
  stream = await startExecutionStream(aws);
  api = await startInProcessApi(aws);
  // The bulk stops' runs, consumed as npm start consumes them.
  jobs = startQueueConsumer({
    sqs: aws.sqs,
    queueUrl: aws.resources.queues.bulk_stop_jobs,
    functionName: "bulk-stop",
    handler: bulkStopHarness(aws).handler as unknown as QueueHandler,
  });
});

afterAll(async () => {
  await jobs?.stop();
  await api?.close();
  await stream?.stop();
});

describe("the typed client's bulk stop", () => {
  it("counts a scope, stops it and waits until done, with an idempotency key; refuses an empty scope as a validation error", async () => {
    const agent = `agent-${randomUUID()}`;
    const tasks = [anExecution({ agent_id: agent }), anExecution({ agent_id: agent, status: "paused" })];
    for (const task of tasks) await putItem(aws.dynamoDb, aws.resources.tables.executions, task);
    await stream.settled();
    const client = createTaskClient({ baseUrl: api.url, apiKey: KEY });

    expect(await client.tasks.countMany({ agent_id: agent })).toBe(2);
    const done = await client.tasks.stopMany(
      { agent_id: agent },
      { reason: "client", idempotencyKey: `k-${agent}`, waitUntilDone: true, intervalMs: 100 },
    );
    expect(done).toMatchObject({ status: "done", matched: 2, stopped: 2 });
    const again = await client.tasks.stopMany({ agent_id: agent }, { idempotencyKey: `k-${agent}` });
    expect(again.stop_id).toBe(done.stop_id);
    expect(await client.getBulkStop(done.stop_id)).toMatchObject({ stopped: 2 });
    for (const task of tasks)
      expect(await getStoredItem(aws.dynamoDb, aws.resources.tables.executions, task.id as string)).toMatchObject({
        status: "stopped",
        stopped_by: `bulk:${done.stop_id}`,
      });
    await expect(client.tasks.stopMany({})).rejects.toBeInstanceOf(TaskValidationError);
  });
});
