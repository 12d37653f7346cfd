import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { livenessIndexKeys } from "../../../lib/executions/indexes.js";
import { dynamoWorkerExecutionUpdates, type FinishResult } from "../../../lib/worker/execution-updates.js";
import { anExecution, aStopRequest } from "../../support/factories.js";
import {
  drainQueue,
  getStoredItem,
  type LocalAws,
  localDynamoDbClient,
  provisionIsolatedStack,
  putItem,
  storeApiKey,
  workerQueueUrl,
} from "../../support/local-aws.js";
import { stopTaskHarness } from "../../support/stop-task-harness.js";

const KEY = `sk-race-${randomUUID()}`;
const TRIALS = 200;
const CONCURRENT_TRIALS = 20;
let aws: LocalAws;

beforeAll(async () => {
  aws = await provisionIsolatedStack({ workers: ["worker-race"] });
  await storeApiKey(aws, { key: KEY, organizationId: "org-a", keyId: "key-a" });
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("a stop racing the worker's own completion", () => {
  it(`ends every one of ${TRIALS} trials in exactly one terminal state, with a message if and only if the stop won`, async () => {
    const stopFunction = stopTaskHarness(aws);
    const updates = dynamoWorkerExecutionUpdates(localDynamoDbClient(), aws.resources.tables.executions);
    const outcomes: {
      id: string;
      finish: "completed" | "failed";
      finished: FinishResult;
      stopStatus: number;
      stopBody: Record<string, unknown>;
    }[] = [];

    for (let batch = 0; batch < TRIALS; batch += CONCURRENT_TRIALS) {
      const trials = Array.from({ length: CONCURRENT_TRIALS }, async () => {
        const execution = anExecution({
          status: "executing",
          worker_id: "worker-race",
          started_at: "2026-11-25T10:00:00.000Z",
        });
        await putItem(aws.dynamoDb, aws.resources.tables.executions, { ...execution, ...livenessIndexKeys(execution) });
        const finish = Math.random() < 0.5 ? "completed" : "failed";
        // Random interleaving: either side may start first, by up to a few milliseconds.
        const [stopResponse, finished] = await Promise.all([
          pause(Math.random() * 4).then(() => stopFunction.http(aStopRequest(execution.id, KEY))),
          pause(Math.random() * 4).then(() =>
            finish === "completed"
              ? updates.complete(execution.id, "worker-race", "result")
              : updates.fail(execution.id, "worker-race", "boom"),
          ),
        ]);
        outcomes.push({
          id: execution.id,
          finish,
          finished,
          stopStatus: stopResponse.statusCode,
          stopBody: JSON.parse(stopResponse.body),
        });
      });
      await Promise.all(trials);
    }

    const messages = await drainQueue(aws.sqs, workerQueueUrl(aws, "worker-race"), { waitSeconds: 1 });
    const messagesPerTask = new Map<string, number>();
    for (const message of messages) {
      const taskId = JSON.parse(message.Body ?? "{}").task_id as string;
      messagesPerTask.set(taskId, (messagesPerTask.get(taskId) ?? 0) + 1);
    }

    let stopsWon = 0;
    for (const outcome of outcomes) {
      const item = await getStoredItem(aws.dynamoDb, aws.resources.tables.executions, outcome.id);
      expect(outcome.stopStatus).toBe(200);
      // Whatever the stop answered is the state that stuck.
      expect(outcome.stopBody.status).toBe(item?.status);
      expect(item?.version).toBe(1);
      if (item?.status === "stopped") {
        stopsWon += 1;
        expect(outcome.finished).toEqual({ kind: "already_terminal", status: "stopped" });
        expect(item).not.toHaveProperty("result");
        expect(item).toMatchObject({ is_manually_stopped: true });
        expect(messagesPerTask.get(outcome.id)).toBe(1);
      } else {
        expect(item?.status).toBe(outcome.finish);
        expect(outcome.finished).toEqual({ kind: "finished" });
        expect(item).not.toHaveProperty("stopped_at");
        expect(item?.is_manually_stopped ?? false).toBe(false);
        expect(messagesPerTask.has(outcome.id)).toBe(false);
      }
    }
    expect(messages).toHaveLength(stopsWon);
    // Both sides must actually win some races, or the trials proved nothing about interleavings.
    expect(stopsWon).toBeGreaterThan(0);
    expect(stopsWon).toBeLessThan(TRIALS);
  }, 120_000);
});
