import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { type CleanupDependencies, type CleanupReport, type CleanupSettings, runCleanup } from "../../lib/cleanup.js";
import { MetricUnit } from "../../lib/observability.js";
import { functionDefinitions } from "../../lib/resources.js";
import {
  SWEEP_SIGNAL_QUEUES_JOB,
  type SweepDependencies,
  type SweepReport,
  type SweepSettings,
  sweepIdleSignalQueues,
} from "../../lib/signals/queue-sweep.js";

export interface CleanupHandlerDependencies extends Omit<CleanupDependencies, "onItemFailure"> {
  readonly settings: Omit<CleanupSettings, "timeBudgetMs">;
  readonly sweep: Omit<SweepDependencies, "onQueueFailure" | "now"> & {
    readonly settings: Omit<SweepSettings, "timeBudgetMs">;
  };
  readonly logger: Logger;
  readonly metrics: Metrics;
}

function isSweepEvent(event: unknown): boolean {
  return typeof event === "object" && event !== null && (event as { job?: unknown }).job === SWEEP_SIGNAL_QUEUES_JOB;
}

/**
 * Stop taking new work this long before the Lambda's timeout: more than one direct invoke of the
 * stop function can take (its own timeout, and 5 s to spare), so an item in progress still finishes.
 */
const TIME_MARGIN_MS = (functionDefinitions["stop-task"].timeoutSeconds + 5) * 1000;

/**
 * The scheduled cleanup: one bounded run of the re-drive and the stuck-execution stops, whatever
 * the event (EventBridge schedule or a manual invoke), except `{"job": "sweep-signal-queues"}`,
 * the hourly schedule's, which sweeps the queues of vanished workers and environments instead.
 */
export function createCleanupHandler(deps: CleanupHandlerDependencies) {
  const { logger, metrics } = deps;

  async function sweep(context: Context): Promise<SweepReport> {
    const report = await sweepIdleSignalQueues(
      {
        ...deps.sweep,
        now: deps.now,
        onQueueFailure: (queueUrl, error) =>
          logger.warn("signal queue sweep failed for a queue", {
            queue_url: queueUrl,
            error: error instanceof Error ? error.name : "unknown",
          }),
      },
      { ...deps.sweep.settings, timeBudgetMs: Math.max(0, context.getRemainingTimeInMillis() - TIME_MARGIN_MS) },
    );
    metrics.addMetric("SignalQueuesDeleted", MetricUnit.Count, report.deleted);
    logger.info("signal queue sweep finished", { ...report });
    return report;
  }

  return middy<unknown, CleanupReport | SweepReport>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .handler(async (event: unknown, context: Context) => {
      if (isSweepEvent(event)) return sweep(context);
      const report = await runCleanup(
        {
          ...deps,
          onItemFailure: (taskId, job, error) =>
            logger.warn("cleanup item failed", {
              task_id: taskId,
              job,
              error: error instanceof Error ? error.name : "unknown",
            }),
        },
        { ...deps.settings, timeBudgetMs: Math.max(0, context.getRemainingTimeInMillis() - TIME_MARGIN_MS) },
      );
      metrics.addMetric("SignalsRedriven", MetricUnit.Count, report.redriven);
      // Re-sends that found their worker's queue gone: a vanished worker, flagged after the last attempt.
      metrics.addMetric("SignalOwnerQueueGone", MetricUnit.Count, report.ownerQueueGone);
      // The alarm watches this one: a stop whose worker never confirmed after every attempt.
      metrics.addMetric("SignalDeliveryFailed", MetricUnit.Count, report.flagged);
      metrics.addMetric("StaleExecutionsStopped", MetricUnit.Count, report.stoppedStale);
      metrics.addMetric("OverlongExecutionsStopped", MetricUnit.Count, report.stoppedOverlong);
      metrics.addMetric("DurationLimitStops", MetricUnit.Count, report.stoppedOverDurationLimit);
      // Deadlines moved: a default changed (then many, once), or a due task was found under its limit.
      metrics.addMetric("DurationDeadlinesRewritten", MetricUnit.Count, report.deadlinesRewritten);
      metrics.addMetric("CleanupItemFailures", MetricUnit.Count, report.failures);
      logger.info("cleanup run finished", { ...report });
      return report;
    });
}
