import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";

export const SERVICE_NAME = "stop-task";
export const METRICS_NAMESPACE = "StopTask";

/** One service, one metrics namespace; the function name tells the log lines and metrics of each apart. */
export function createLogger(functionName = "stop-task"): Logger {
  return new Logger({ serviceName: SERVICE_NAME, persistentKeys: { function: functionName } });
}

export function createMetrics(functionName = "stop-task"): Metrics {
  return new Metrics({
    namespace: METRICS_NAMESPACE,
    serviceName: SERVICE_NAME,
    defaultDimensions: { function: functionName },
  });
}

export { MetricUnit };
