import type { Logger } from "@aws-lambda-powertools/logger";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import { isDependencyUnavailable } from "./aws/errors.js";
import { InvalidStoredExecutionError } from "./executions/repository.js";
import { MetricUnit } from "./observability.js";
import type { RequestOutcomeKind } from "./outcomes.js";
import type { SignalDelivery, StopTaskOutcome } from "./stop-task.js";

/**
 * How every adapter (HTTP routes, the direct invoke) records what a request came to: one place,
 * so a dashboard reads the same metric whichever way a stop arrived.
 */

export interface OutcomeRecorder {
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export type OutcomeMetricName = `Outcome_${RequestOutcomeKind}`;
export type FailureKind = "unavailable" | "internal_error";
type FailureMetricName = "InvalidStoredExecution" | "DependencyUnavailable" | "UnexpectedError";
type UndeliveredSignal = Extract<SignalDelivery, "pending" | "unrecorded" | "resent">;

const signalMetricNames = {
  pending: "StopSignalPending",
  unrecorded: "StopSignalUnrecorded",
  resent: "StopSignalResent",
} as const satisfies Record<UndeliveredSignal, string>;

/**
 * The outcome of one request: one EMF line that is both the metric and the request's structured
 * record (request id, organization, key id, task id and outcome ride along as metadata), instead
 * of a log line and a metrics line per request. Measured: the second line per request was a
 * sizeable part of the handler's own CPU on the hot path.
 */
export function recordOutcome(
  deps: Pick<OutcomeRecorder, "metrics">,
  outcome: RequestOutcomeKind,
  context: Record<string, string | undefined> = {},
): void {
  for (const [key, value] of Object.entries(context)) if (value !== undefined) deps.metrics.addMetadata(key, value);
  deps.metrics.addMetadata("outcome", outcome);
  const name: OutcomeMetricName = `Outcome_${outcome}`;
  deps.metrics.addMetric(name, MetricUnit.Count, 1);
}

/** Logs and counts a failure by its kind; the task id is the only request detail logged with it. */
export function recordFailure(deps: OutcomeRecorder, taskId: string | undefined, error: unknown): FailureKind {
  const count = (name: FailureMetricName) => deps.metrics.addMetric(name, MetricUnit.Count, 1);
  const errorName = error instanceof Error ? error.name : "unknown";
  if (error instanceof InvalidStoredExecutionError) {
    deps.logger.error("stored execution does not satisfy the schema", { task_id: error.taskId });
    count("InvalidStoredExecution");
    return "internal_error";
  }
  if (isDependencyUnavailable(error)) {
    deps.logger.warn("dependency unavailable", { task_id: taskId, error: errorName });
    count("DependencyUnavailable");
    return "unavailable";
  }
  deps.logger.error("unexpected failure", { task_id: taskId, error: errorName });
  count("UnexpectedError");
  return "internal_error";
}

/** A stop whose signal did not simply go out with it: counted, and logged when it is still owed. */
export function recordSignalDelivery(deps: OutcomeRecorder, taskId: string, outcome: StopTaskOutcome): void {
  if (outcome.kind === "not_found" || outcome.kind === "forbidden") return;
  const { signal } = outcome;
  if (signal !== "pending" && signal !== "unrecorded" && signal !== "resent") return;
  if (signal !== "resent") {
    // "unrecorded": the stop is saved but nothing marks its signal as owed; only the record's state remains.
    deps.logger[signal === "unrecorded" ? "error" : "warn"]("stop signal not delivered", {
      task_id: taskId,
      signal,
      error: outcome.signalError instanceof Error ? outcome.signalError.name : "unknown",
    });
  }
  deps.metrics.addMetric(signalMetricNames[signal], MetricUnit.Count, 1);
}
