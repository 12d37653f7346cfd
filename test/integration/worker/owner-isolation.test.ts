import { ListQueuesCommand } from "@aws-sdk/client-sqs";
import { beforeAll, describe, expect, it } from "vitest";
import { ownerQueueSettings } from "../../../infra/local/provision.js";
import { livenessIndexKeys } from "../../../lib/executions/indexes.js";
import { sqsSignalQueueInventory, sweepIdleSignalQueues } from "../../../lib/signals/queue-sweep.js";
import { dynamoSweepPositions } from "../../../lib/signals/sweep-positions.js";
import { dynamoWorkerExecutionUpdates } from "../../../lib/worker/execution-updates.js";
import { ensureSignalQueue, markSignalQueueSeen } from "../../../lib/worker/signal-queue.js";
import { anExecution } from "../../support/factories.js";
import {
  getStoredItem,
  type LocalAws,
  localDynamoDbClient,
  provisionIsolatedStack,
  putItem,
} from "../../support/local-aws.js";
import { stopTaskHarness } from "../../support/stop-task-harness.js";

/**
 * Owners cannot touch each other (issue 24, item 11). What IAM decides (who may tag, receive from
 * or delete from which queue) is simulated against the synthesized policies in
 * test/infra/owner-isolation.test.ts; what IAM cannot express, whose task a worker acknowledges
 * (worker_id is no key attribute), is the acknowledgement's own condition, proven here.
 */
let aws: LocalAws;

beforeAll(async () => {
  aws = await provisionIsolatedStack({ workers: [] });
});

const updates = () => dynamoWorkerExecutionUpdates(localDynamoDbClient(), aws.resources.tables.executions);
const stored = (id: string) => getStoredItem(aws.dynamoDb, aws.resources.tables.executions, id);

/** A running execution of `owner`, stopped by a trusted caller: in the re-drive index, awaiting its owner's acknowledgement. */
async function stoppedExecution(owner: { worker_id: string; environment_id?: string }) {
  const execution = anExecution({ status: "executing", started_at: new Date().toISOString(), ...owner });
  await putItem(aws.dynamoDb, aws.resources.tables.executions, { ...execution, ...livenessIndexKeys(execution) });
  await stopTaskHarness(aws).invoke({
    action: "stop_task",
    task_id: execution.id,
    reason: "user_requested",
    requested_by: "operator",
  });
  return execution;
}

describe("a stop's acknowledgement belongs to its owner", () => {
  it("refuses worker B's acknowledgement of worker A's task and changes nothing; A's own is recorded", async () => {
    const task = await stoppedExecution({ worker_id: "worker-a" });
    const before = await stored(task.id);
    expect(before).toMatchObject({ status: "stopped" });
    expect(before).toHaveProperty("idx_signal_due_at");

    expect(await updates().acknowledgeStop(task.id, { workerId: "worker-b" })).toBe("not_owner");
    expect(await stored(task.id)).toEqual(before);

    expect(await updates().acknowledgeStop(task.id, { workerId: "worker-a" })).toBe("acknowledged");
    const after = await stored(task.id);
    expect(after).toMatchObject({ stop_acknowledged_by: "worker-a" });
    expect(after).not.toHaveProperty("idx_signal_due_at");
  });

  it("refuses another environment's acknowledgement, and a worker's claim through an environment id", async () => {
    const task = await stoppedExecution({ worker_id: "onprem-1", environment_id: "env-a" });
    const before = await stored(task.id);

    expect(await updates().acknowledgeStop(task.id, { environmentId: "env-b" })).toBe("not_owner");
    expect(await updates().acknowledgeStop(task.id, { environmentId: "onprem-1" })).toBe("not_owner");
    expect(await stored(task.id)).toEqual(before);

    expect(await updates().acknowledgeStop(task.id, { environmentId: "env-a" })).toBe("acknowledged");
    expect(await stored(task.id)).toMatchObject({ stop_acknowledged_by: "env-a" });
  });

  it("refuses an acknowledgement of a task nobody runs yet", async () => {
    const task = await stoppedExecution({ worker_id: "" });
    const before = await stored(task.id);
    expect(await updates().acknowledgeStop(task.id, { workerId: "" })).toBe("not_owner");
    expect(await stored(task.id)).toEqual(before);
  });
});

describe("the sweep and a queue its owner refreshes", () => {
  it("never deletes a queue whose owner refreshed it, and deletes the one whose owner did not", async () => {
    const { workers } = aws.resources.signal_channels;
    const now = new Date("2026-11-26T12:00:00.000Z");
    const twoDaysAgo = new Date(now.getTime() - 2 * 24 * 60 * 60_000);
    // Both made two days ago; only A's owner has refreshed its tag since (every ten minutes, as it polls).
    const refreshed = await ensureSignalQueue(aws.sqs, ownerQueueSettings(workers), "worker-a", twoDaysAgo);
    const abandoned = await ensureSignalQueue(aws.sqs, ownerQueueSettings(workers), "worker-b", twoDaysAgo);
    await markSignalQueueSeen(aws.sqs, refreshed, new Date(now.getTime() - 10 * 60_000));

    const report = await sweepIdleSignalQueues(
      {
        inventory: sqsSignalQueueInventory(aws.sqs),
        positions: dynamoSweepPositions(aws.dynamoDb, aws.resources.tables.sweep_positions),
        namePrefixes: [workers.name_prefix],
        now: () => now,
      },
      { idleMs: 24 * 60 * 60_000, maxQueuesPerRun: 100, timeBudgetMs: 30_000 },
    );

    expect(report).toMatchObject({ examined: 2, deleted: 1, failures: 0 });
    const { QueueUrls = [] } = await aws.sqs.send(new ListQueuesCommand({ QueueNamePrefix: workers.name_prefix }));
    expect(QueueUrls).toEqual([refreshed]);
    expect(QueueUrls).not.toContain(abandoned);
  });
});
