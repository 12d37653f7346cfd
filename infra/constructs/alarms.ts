import { Duration } from "aws-cdk-lib";
import type * as apigateway from "aws-cdk-lib/aws-apigateway";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as cloudwatchActions from "aws-cdk-lib/aws-cloudwatch-actions";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as sns from "aws-cdk-lib/aws-sns";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { METRICS_NAMESPACE, SERVICE_NAME } from "../../lib/observability.js";
import { type FunctionName, physicalName } from "../../lib/resources.js";

export interface AlarmsProps {
  readonly prefix: string;
  /** Where alarms go; a topic of this stack when absent (subscribe to it after deploy). */
  readonly topic?: sns.ITopic;
  /** Share of requests answered 5xx within five minutes that wakes someone, 0..1. */
  readonly serverErrorRateThreshold?: number;
}

const FIVE_MINUTES = Duration.minutes(5);

/** `StopSignalsDlqMessages` -> `stop-signals-dlq-messages`, the style of every other name. */
function kebabCase(id: string): string {
  return id.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();
}

/**
 * What an operator must hear about: the API failing, a function failing or throttled, any
 * message parked in a dead-letter queue, and a stop signal the cleanup gave up re-sending.
 */
export class Alarms extends Construct {
  readonly topic: sns.ITopic;
  private readonly prefix: string;
  private readonly action: cloudwatchActions.SnsAction;
  private readonly serverErrorRateThreshold: number;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    this.prefix = props.prefix;
    // enforceSSL: the topic policy denies publishing over plain HTTP.
    this.topic =
      props.topic ??
      new sns.Topic(this, "Topic", { topicName: physicalName(props.prefix, "alarms"), enforceSSL: true });
    this.action = new cloudwatchActions.SnsAction(this.topic);
    this.serverErrorRateThreshold = props.serverErrorRateThreshold ?? 0.05;
  }

  /** 5XXError averaged over requests is the share of requests that failed on our side. */
  watchApi(api: apigateway.RestApi): void {
    this.add("ApiServerErrorRate", {
      metric: api.metricServerError({ statistic: cloudwatch.Stats.AVERAGE, period: FIVE_MINUTES }),
      threshold: this.serverErrorRateThreshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: `More than ${this.serverErrorRateThreshold * 100}% of API requests answered 5xx in five minutes.`,
    });
  }

  watchFunction(name: string, fn: lambda.IFunction): void {
    this.add(`${name}Errors`, {
      metric: fn.metricErrors({ statistic: cloudwatch.Stats.SUM, period: FIVE_MINUTES }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: `${name} failed an invocation (crash, timeout or a failed cold start).`,
    });
    this.add(`${name}Throttles`, {
      metric: fn.metricThrottles({ statistic: cloudwatch.Stats.SUM, period: FIVE_MINUTES }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: `${name} was throttled: callers got errors instead of a stop.`,
    });
  }

  watchDeadLetterQueue(name: string, queue: sqs.IQueue): void {
    this.add(`${name}Messages`, {
      metric: queue.metricApproximateNumberOfMessagesVisible({
        statistic: cloudwatch.Stats.MAXIMUM,
        period: FIVE_MINUTES,
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: `A message is parked in ${name}: a signal no worker could take. Inspect, then redrive.`,
    });
  }

  /**
   * SignalDeliveryFailed counts executions the cleanup flagged after its last re-send went
   * unacknowledged: a stop recorded but never confirmed by a worker, so the agent may still run.
   * The dimensions are exactly those Powertools writes for `createMetrics(functionName)` of
   * lib/observability.ts: its `service` plus the `function` default dimension.
   */
  watchUndeliverableSignals(functionName: FunctionName): void {
    this.add("SignalDeliveryFailed", {
      metric: new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: "SignalDeliveryFailed",
        dimensionsMap: { service: SERVICE_NAME, function: functionName },
        statistic: cloudwatch.Stats.SUM,
        // The same window as the other alarms: several flags within minutes are one page, not many.
        period: FIVE_MINUTES,
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription:
        "A stop signal stayed unacknowledged after every re-send: the agent may still be " +
        "running. The execution carries signal_delivery_failed_at in the executions table.",
    });
  }

  /**
   * A stream processor falling behind: the age of the oldest record it has not handled yet. A
   * record it keeps failing holds its shard until it is given up on (and described on the
   * failure queue, which has its own alarm), so this catches both a slow and a stuck processor.
   */
  watchStreamIteratorAge(name: string, fn: lambda.IFunction): void {
    this.add(`${name}IteratorAge`, {
      metric: fn.metric("IteratorAge", { statistic: cloudwatch.Stats.MAXIMUM, period: FIVE_MINUTES }),
      threshold: Duration.minutes(5).toMilliseconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: `${name} is more than five minutes behind the executions table's stream: cascades and task events are late.`,
    });
  }

  private add(
    id: string,
    props: Omit<cloudwatch.AlarmProps, "evaluationPeriods" | "treatMissingData" | "alarmName">,
  ): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      ...props,
      alarmName: physicalName(this.prefix, kebabCase(id)),
      evaluationPeriods: 1,
      // No traffic is not an incident.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
  }
}
