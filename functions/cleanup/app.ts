import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { type CleanupDependencies, type CleanupReport, type CleanupSettings, runCleanup } from "../../lib/cleanup.js";
import { MetricUnit } from "../../lib/observability.js";

export interface CleanupHandlerDependencies extends Omit<CleanupDependencies, "onItemFailure"> {
  readonly settings: Omit<CleanupSettings, "timeBudgetMs">;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/**
 * Stop taking new work this long before the Lambda's timeout: more than one direct invoke of the
 * stop function can take (its own 10 s timeout), so an item already in progress still finishes.
 */
const TIME_MARGIN_MS = 15_000;

/** The scheduled cleanup: whatever the event (EventBridge schedule or a manual invoke), one bounded run. */
export function createCleanupHandler(deps: CleanupHandlerDependencies) {
  const { logger, metrics } = deps;
  return middy<unknown, CleanupReport>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .handler(async (_event: unknown, context: Context) => {
      const report = await runCleanup(
        {
          ...deps,
          onItemFailure: (taskId, job, error) =>
            logger.warn("cleanup item failed", { task_id: taskId, job, error: error instanceof Error ? error.name : "unknown" }),
        },
        { ...deps.settings, timeBudgetMs: Math.max(0, context.getRemainingTimeInMillis() - TIME_MARGIN_MS) },
      );
      metrics.addMetric("SignalsRedriven", MetricUnit.Count, report.redriven);
      // The alarm watches this one: a stop whose worker never confirmed after every attempt.
      metrics.addMetric("SignalDeliveryFailed", MetricUnit.Count, report.flagged);
      metrics.addMetric("StaleExecutionsStopped", MetricUnit.Count, report.stoppedStale);
      metrics.addMetric("OverlongExecutionsStopped", MetricUnit.Count, report.stoppedOverlong);
      metrics.addMetric("CleanupItemFailures", MetricUnit.Count, report.failures);
      logger.info("cleanup run finished", { ...report });
      return report;
    });
}

export function cleanupSettingsFromConfig(config: {
  SIGNAL_ACK_TIMEOUT_SECONDS: number;
  SIGNAL_MAX_ATTEMPTS: number;
  STALE_HEARTBEAT_SECONDS: number;
  MAX_EXECUTION_SECONDS: number;
  CLEANUP_MAX_ITEMS_PER_RUN: number;
}): Omit<CleanupSettings, "timeBudgetMs"> {
  return {
    signalAckTimeoutMs: config.SIGNAL_ACK_TIMEOUT_SECONDS * 1000,
    signalMaxAttempts: config.SIGNAL_MAX_ATTEMPTS,
    staleHeartbeatMs: config.STALE_HEARTBEAT_SECONDS * 1000,
    maxExecutionMs: config.MAX_EXECUTION_SECONDS * 1000,
    maxItemsPerRun: config.CLEANUP_MAX_ITEMS_PER_RUN,
  };
}
