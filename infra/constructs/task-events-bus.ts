import { Duration } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as iam from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";
import { physicalName } from "../../lib/resources.js";
import { TASK_EVENT_SOURCE } from "../../lib/task-events.js";
import type { QueueWithDeadLetter } from "./queue-with-dead-letter.js";
import type { ServiceFunction } from "./service-function.js";

export interface TaskEventsBusProps {
  readonly prefix: string;
}

/**
 * The EventBridge bus the service's task events go to (Task Stopped, Task Stop Acknowledged,
 * Task Stop Delivery Failed; lib/task-events.ts). Consumers subscribe with rules of their own;
 * `routeOrganization` is the example.
 */
export class TaskEventsBus extends Construct {
  readonly bus: events.EventBus;
  private readonly prefix: string;

  constructor(scope: Construct, id: string, props: TaskEventsBusProps) {
    super(scope, id);
    this.prefix = props.prefix;
    this.bus = new events.EventBus(this, "Bus", {
      eventBusName: physicalName(props.prefix, "task-events"),
      description: "Task Stopped, Task Stop Acknowledged and Task Stop Delivery Failed events of the stop-task service",
    });
  }

  /** PutEvents on this bus only, and its name in the function's EVENT_BUS_NAME. */
  grantPut(fn: ServiceFunction): void {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ["events:PutEvents"], resources: [this.bus.eventBusArn] }));
    fn.setEnvironment("EVENT_BUS_NAME", this.bus.eventBusName);
  }

  /**
   * A rule that routes one organization's events (all three types) to a queue, in EventBridge's
   * envelope. Deliveries EventBridge cannot make after its retries go to the queue's DLQ.
   */
  routeOrganization(id: string, organizationId: string, target: QueueWithDeadLetter): events.Rule {
    const rule = new events.Rule(this, id, {
      eventBus: this.bus,
      ruleName: physicalName(this.prefix, `${organizationId}-task-events`),
      description: `Task events of organization ${organizationId}, to ${target.queue.node.path}`,
      eventPattern: { source: [TASK_EVENT_SOURCE], detail: { organization_id: [organizationId] } },
    });
    rule.addTarget({
      bind: () => ({
        arn: target.queue.queueArn,
        deadLetterConfig: { arn: target.deadLetterQueue.queueArn },
        retryPolicy: { maximumRetryAttempts: 10, maximumEventAgeInSeconds: Duration.hours(24).toSeconds() },
      }),
    });
    // Written by hand: targets.SqsQueue would also allow GetQueueAttributes and GetQueueUrl, which
    // EventBridge does not need to deliver. SendMessage only, and only from this rule.
    for (const queue of [target.queue, target.deadLetterQueue]) {
      queue.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal("events.amazonaws.com")],
          actions: ["sqs:SendMessage"],
          resources: [queue.queueArn],
          conditions: { ArnEquals: { "aws:SourceArn": rule.ruleArn } },
        }),
      );
    }
    return rule;
  }
}
