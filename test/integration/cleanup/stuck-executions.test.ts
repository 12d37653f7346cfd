import { describe, expect, it } from "vitest";
import { livenessIndexKeys } from "../../../lib/executions/indexes.js";
import { cleanupHarness } from "../../support/cleanup-harness.js";
import { anExecution } from "../../support/factories.js";
import {
  drainQueue,
  getStoredItem,
  type LocalAws,
  provisionIsolatedStack,
  putItem,
  workerQueueUrl,
} from "../../support/local-aws.js";
import { stopTaskHarness } from "../../support/stop-task-harness.js";

const NOW = Date.parse("2026-11-25T12:00:00.000Z");
const ago = (minutes: number) => new Date(NOW - minutes * 60_000).toISOString();

async function seed(aws: LocalAws, overrides: Parameters<typeof anExecution>[0]) {
  const execution = anExecution(overrides);
  await putItem(aws.dynamoDb, aws.resources.tables.executions, { ...execution, ...livenessIndexKeys(execution) });
  return execution;
}

describe("stuck executions", () => {
  it(
    "stops stale and over-long executions with the right reason, " +
      "leaves fresh ones alone, and two overlapping runs stop each once",
    async () => {
      const aws = await provisionIsolatedStack();
      const stale = await seed(aws, { status: "executing", started_at: ago(30), heartbeat_at: ago(10) });
      const overlong = await seed(aws, { status: "executing", started_at: ago(7 * 60), heartbeat_at: ago(1) });
      const fresh = await seed(aws, { status: "executing", started_at: ago(30), heartbeat_at: ago(1) });
      const waitingForHuman = await seed(aws, { status: "paused", started_at: ago(30), heartbeat_at: ago(20) });
      const finished = await seed(aws, { status: "completed", started_at: ago(9 * 60), finished_at: ago(8 * 60) });
      const now = () => new Date(NOW);
      const stopFunction = stopTaskHarness(aws, { now });

      const reports = await Promise.all([
        cleanupHarness(aws, stopFunction, { now })(),
        cleanupHarness(aws, stopFunction, { now })(),
      ]);

      expect(reports.reduce((sum, report) => sum + report.stoppedStale, 0)).toBe(1);
      expect(reports.reduce((sum, report) => sum + report.stoppedOverlong, 0)).toBe(1);
      const stored = async (id: string) => getStoredItem(aws.dynamoDb, aws.resources.tables.executions, id);
      expect(await stored(stale.id)).toMatchObject({
        status: "stopped",
        is_manually_stopped: false,
        stop_reason: "stale_heartbeat",
        stopped_by: "system:cleanup",
        version: 1,
      });
      expect(await stored(overlong.id)).toMatchObject({
        status: "stopped",
        is_manually_stopped: false,
        stop_reason: "max_duration_exceeded",
        stopped_by: "system:cleanup",
        version: 1,
      });
      expect(await stored(fresh.id)).toMatchObject({ status: "executing" });
      expect(await stored(waitingForHuman.id)).toMatchObject({ status: "paused" });
      expect(await stored(finished.id)).toMatchObject({ status: "completed" });

      const messages = (await drainQueue(aws.sqs, workerQueueUrl(aws), { waitSeconds: 1 })).map((message) =>
        JSON.parse(message.Body ?? "{}"),
      );
      expect(messages.map((message) => [message.task_id, message.reason, message.is_manually_stopped]).sort()).toEqual(
        [
          [stale.id, "stale_heartbeat", false],
          [overlong.id, "max_duration_exceeded", false],
        ].sort(),
      );
    },
  );

  it("works through a backlog over several bounded runs", async () => {
    const aws = await provisionIsolatedStack();
    const staleOnes = await Promise.all(
      Array.from({ length: 12 }, () => seed(aws, { status: "executing", started_at: ago(30), heartbeat_at: ago(10) })),
    );
    const now = () => new Date(NOW);
    const cleanup = cleanupHarness(aws, stopTaskHarness(aws, { now }), { now, settings: { maxItemsPerRun: 5 } });

    const first = await cleanup();
    expect(first).toMatchObject({ stoppedStale: 5, truncated: true });
    await cleanup();
    const third = await cleanup();
    expect(third.stoppedStale).toBe(2);
    for (const execution of staleOnes) {
      expect(await getStoredItem(aws.dynamoDb, aws.resources.tables.executions, execution.id)).toMatchObject({
        status: "stopped",
      });
    }
  });
});
