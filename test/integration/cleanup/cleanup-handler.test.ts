import { ListQueuesCommand } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { composeCleanup } from "../../../functions/cleanup/compose.js";
import { ownerQueueSettings } from "../../../infra/local/provision.js";
import { readCleanupConfig } from "../../../lib/config.js";
import { SWEEP_SIGNAL_QUEUES_JOB } from "../../../lib/signals/queue-sweep.js";
import { ensureSignalQueue } from "../../../lib/worker/signal-queue.js";
import { capturedLogLines } from "../../support/capture-logs.js";
import { aLambdaContext } from "../../support/factories.js";
import { type LocalAws, provisionIsolatedStack } from "../../support/local-aws.js";
import { stopTaskHarness } from "../../support/stop-task-harness.js";

/** The cleanup function as its composition root wires it (functions/cleanup/handler.ts), on this stack. */
function cleanupFunction(aws: LocalAws, now: Date) {
  const { workers, environments } = aws.resources.signal_channels;
  const config = readCleanupConfig({
    EXECUTIONS_TABLE_NAME: aws.resources.tables.executions,
    WORKER_QUEUE_URL_PREFIX: workers.url_prefix,
    ENVIRONMENT_QUEUE_URL_PREFIX: environments.url_prefix,
    STOP_FUNCTION_NAME: "stop-task (in this test)",
    LIMITS_TABLE_NAME: aws.resources.tables.limits,
    SWEEP_POSITIONS_TABLE_NAME: aws.resources.tables.sweep_positions,
  });
  return composeCleanup(
    config,
    { dynamoDb: aws.dynamoDb, sqs: aws.sqs, invokeStop: stopTaskHarness(aws).invoke },
    { now: () => now },
  );
}

const inRemainingTime = () => ({ ...aLambdaContext(), getRemainingTimeInMillis: () => 60_000 });

describe("the cleanup function's two jobs", () => {
  it("sweeps idle signal queues on the hourly schedule's input, and reports it as a metric", async () => {
    const aws = await provisionIsolatedStack({ workers: [] });
    const now = new Date("2026-11-26T12:00:00.000Z");
    const { workers } = aws.resources.signal_channels;
    const gone = await ensureSignalQueue(
      aws.sqs,
      ownerQueueSettings(workers),
      "worker-long-gone",
      new Date("2026-11-24T12:00:00.000Z"),
    );
    const alive = await ensureSignalQueue(
      aws.sqs,
      ownerQueueSettings(workers),
      "worker-alive",
      new Date("2026-11-26T11:55:00.000Z"),
    );

    const report = await cleanupFunction(aws, now)({ job: SWEEP_SIGNAL_QUEUES_JOB }, inRemainingTime());

    expect(report).toEqual({ listed: 2, examined: 2, deleted: 1, failures: 0, truncated: false });
    const { QueueUrls = [] } = await aws.sqs.send(new ListQueuesCommand({ QueueNamePrefix: workers.name_prefix }));
    expect(QueueUrls).toEqual([alive]);
    expect(QueueUrls).not.toContain(gone);
    const metrics = capturedLogLines().filter((line) => line.includes('"SignalQueuesDeleted"'));
    expect(metrics.map((line) => JSON.parse(line).SignalQueuesDeleted)).toContain(1);
  });

  it("runs the re-drive and the stuck-execution stops on any other event, and leaves the queues alone", async () => {
    const aws = await provisionIsolatedStack({ workers: [] });
    const { workers } = aws.resources.signal_channels;
    const gone = await ensureSignalQueue(
      aws.sqs,
      ownerQueueSettings(workers),
      "worker-long-gone",
      new Date("2026-01-01T00:00:00.000Z"),
    );

    const report = await cleanupFunction(aws, new Date("2026-11-26T12:00:00.000Z"))(
      { "detail-type": "Scheduled Event" },
      inRemainingTime(),
    );

    expect(report).toMatchObject({ redriven: 0, ownerQueueGone: 0, closedUnassigned: 0, flagged: 0, failures: 0 });
    const { QueueUrls = [] } = await aws.sqs.send(new ListQueuesCommand({ QueueNamePrefix: workers.name_prefix }));
    expect(QueueUrls).toEqual([gone]);
  });
});
