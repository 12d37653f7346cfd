import type { Duration } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import { Construct } from "constructs";
import { physicalName } from "../../lib/resources.js";
import type { ServiceFunction } from "./service-function.js";

export interface ScheduledRunProps {
  readonly prefix: string;
  readonly fn: ServiceFunction;
  /** How often the function runs: `rate(...)` of EventBridge. */
  readonly every: Duration;
  readonly description: string;
  /** The event the function gets (EventBridge's scheduled event when absent): one function can serve several jobs. */
  readonly input?: Record<string, unknown>;
  /** The rule's name after the prefix; `<function>-schedule` when absent. */
  readonly ruleName?: string;
}

/**
 * An EventBridge rule that runs a function on a fixed rate, with no retries anywhere: the next
 * scheduled run is the retry. A retried run would only arrive while (or after) the next regular
 * one starts, doubling the work and the error count of one failure for nothing, because each run
 * picks up whatever the previous one left (lib/cleanup.ts is safe for overlapping runs).
 */
export class ScheduledRun extends Construct {
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: ScheduledRunProps) {
    super(scope, id);
    const { fn } = props;
    this.rule = new events.Rule(this, "Rule", {
      ruleName: physicalName(props.prefix, props.ruleName ?? `${fn.name}-schedule`),
      description: props.description,
      schedule: events.Schedule.rate(props.every),
      // EventBridge's retries cover a failed hand-over to Lambda (throttling, service errors).
      targets: [
        new targets.LambdaFunction(fn.function, {
          retryAttempts: 0,
          ...(props.input ? { event: events.RuleTargetInput.fromObject(props.input) } : {}),
        }),
      ],
    });
    // Lambda's own retries of an asynchronous invocation cover the function failing (once per function).
    if (!fn.function.node.tryFindChild("EventInvokeConfig")) fn.function.configureAsyncInvoke({ retryAttempts: 0 });
  }
}
