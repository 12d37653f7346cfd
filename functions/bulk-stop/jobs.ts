import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import * as z from "zod/mini";
import type { BulkStopJob } from "../../lib/bulk-stop/create.js";
import { runBulkStop } from "../../lib/bulk-stop/processor.js";
import { MetricUnit } from "../../lib/observability.js";
import type { BulkStopHandlerDependencies } from "./app.js";

/** A run's message (lib/bulk-stop/create.ts `BulkStopJob`). */
export const bulkStopJobSchema = z.object({ stop_id: z.string(), queued_at: z.number() });

/**
 * The request queues the run before it saves the bulk stop (http.ts), so a run can find none yet: it looks again a few
 * seconds later, for this long; then the bulk stop was never saved, and the message is dropped.
 */
const UNSAVED_BULK_STOP_WAIT_MS = 60_000;
export const RETRY_UNSAVED_AFTER_SECONDS = 2;

const DEFAULT_RUN_MARGIN_MS = 15_000;

/**
 * Runs bulk stops from the jobs queue (batch size 1 in AWS). A run out of time queues its continuation and succeeds; a
 * run that fails is reported, and its message comes back after the visibility timeout (then the dead-letter queue):
 * the bulk stop's saved progress is where the next run starts.
 */
export function createBulkStopJobHandler(deps: BulkStopHandlerDependencies) {
  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    const failures: { itemIdentifier: string }[] = [];
    const margin = deps.runMarginMs ?? DEFAULT_RUN_MARGIN_MS;
    for (const record of event.Records ?? []) {
      let job: BulkStopJob;
      try {
        job = bulkStopJobSchema.parse(JSON.parse(record.body));
      } catch {
        deps.logger.error("bulk stop job message cannot be read; dropped", { message_id: record.messageId });
        deps.metrics.addMetric("BulkStopJobsDropped", MetricUnit.Count, 1);
        continue;
      }
      const stopId = job.stop_id;
      try {
        const result = await runBulkStop(stopId, {
          ...deps,
          timeLeftMs: () => context.getRemainingTimeInMillis() - margin,
        });
        deps.logger.info("bulk stop run", { stop_id: stopId, result: result.kind });
        // Every run is counted, so a run that only continues or waits for its bulk stop is seen too.
        deps.metrics.addMetric("BulkStopRuns", MetricUnit.Count, 1);
        if (result.kind === "continue") await deps.enqueueRun(job);
        if (result.kind === "not_found" && Date.now() - job.queued_at < UNSAVED_BULK_STOP_WAIT_MS)
          await deps.enqueueRun(job, RETRY_UNSAVED_AFTER_SECONDS);
        if (result.kind === "done") {
          deps.metrics.addMetric("BulkStopsCompleted", MetricUnit.Count, 1);
          deps.metrics.addMetric("BulkStopTasksStopped", MetricUnit.Count, result.bulkStop.stopped);
          deps.metrics.addMetric("BulkStopTasksFailed", MetricUnit.Count, result.bulkStop.failed);
        }
      } catch (error) {
        deps.logger.error("bulk stop run failed; its message comes back", {
          stop_id: stopId,
          error: error instanceof Error ? error.name : "unknown",
        });
        deps.metrics.addMetric("BulkStopRunsFailed", MetricUnit.Count, 1);
        failures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures: failures };
  };
}
