import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { livenessIndexKeys } from "../../../lib/executions/indexes.js";
import { setTaskLimits } from "../../../lib/executions/limits-store.js";
import { dynamoTokenUsageReporter, spendTokensTask } from "../../../lib/worker/spend-tokens.js";
import { referenceWorker } from "../../support/cleanup-harness.js";
import { type ExecutionStreamHarness, startExecutionStream } from "../../support/execution-stream-harness.js";
import { anExecution } from "../../support/factories.js";
import { type LocalAws, provisionIsolatedStack, putItem } from "../../support/local-aws.js";
import { storedExecution } from "../../support/task-tree.js";

/**
 * What `npm run worker -- --spend-tokens` runs, on this test's stack: the token guard stops it, and its stop message
 * says why.
 */

let aws: LocalAws;
let stream: ExecutionStreamHarness;

beforeAll(async () => {
  aws = await provisionIsolatedStack();
  stream = await startExecutionStream(aws);
});

afterAll(async () => {
  await stream?.stop();
});

describe("a worker spending tokens past its task's limit", () => {
  it("is stopped by the token guard: it receives the stop with the limit and usage, and the stopped record carries them", async () => {
    const workerId = "worker-spender";
    const execution = anExecution({ worker_id: workerId, started_at: new Date().toISOString() });
    await putItem(aws.dynamoDb, aws.resources.tables.executions, { ...execution, ...livenessIndexKeys(execution) });
    const taskId = execution.id as string;
    await setTaskLimits(aws.dynamoDb, aws.resources.tables.executions, {
      taskId,
      organizationId: execution.organization_id as string,
      limits: { max_tokens: 500 },
    });
    const received: Record<string, unknown>[] = [];
    const log = (event: string, fields: Record<string, unknown>) => {
      if (event === "stop received") received.push(fields);
    };
    // No heartbeat within the test: the stop can only reach the worker as its message.
    const worker = referenceWorker(aws, workerId, { heartbeatIntervalMs: 600_000, log });
    await worker.openQueue();

    const run = worker.run(
      taskId,
      spendTokensTask(dynamoTokenUsageReporter(aws.dynamoDb, aws.resources.tables.executions, taskId), {
        tokensPerReport: 100,
        intervalMs: 50,
        maxReports: 200,
      }),
    );
    for (let poll = 0; poll < 60 && received.length === 0; poll += 1) await worker.pollOnce(1);

    expect(await run).toBe("stopped");
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({
      task_id: taskId,
      reason: "token_limit_exceeded",
      requested_by: "guard:token_limit",
      limit: { limit_name: "max_tokens", limit: 500 },
    });
    const record = await storedExecution(aws, taskId);
    expect(record).toMatchObject({
      status: "stopped",
      stop_reason: "token_limit_exceeded",
      stopped_by: "guard:token_limit",
      is_manually_stopped: false,
    });
    expect(record?.stop_limit).toMatchObject({ limit_name: "max_tokens", limit: 500 });
    expect(Number((record?.stop_limit as { usage?: number } | undefined)?.usage)).toBeGreaterThan(500);
  });
});
