import { ArnFormat, Duration, Fn, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { physicalName, type SignalChannelDefinition } from "../../lib/resources.js";
import { signalQueueNamePrefix } from "../../lib/signals/queue-names.js";
import type { FunctionEnvironmentName, ServiceFunction } from "./service-function.js";

/**
 * What an owner does with its own queue (lib/worker/): CreateQueue with tags needs TagQueue too;
 * SetQueueAttributes and GetQueueUrl bring a queue made by an older version to this one's attributes.
 */
export const OWNER_QUEUE_ACTIONS = [
  "sqs:CreateQueue",
  "sqs:GetQueueUrl",
  "sqs:SetQueueAttributes",
  "sqs:TagQueue",
  "sqs:ReceiveMessage",
  "sqs:DeleteMessage",
] as const;

export interface SignalChannelProps {
  readonly prefix: string;
  readonly definition: SignalChannelDefinition;
  readonly retainData: boolean;
  /** Names the owners in the policy's description: "workers", "self-hosted environments". */
  readonly owners: string;
}

/**
 * A stop-signal channel (lib/resources.ts): its owners' queues are made by the owners themselves
 * at start (lib/worker/signal-queue.ts), named `<prefix>-<part>-<owner id>`, so the stack holds
 * what is shared: the dead-letter queue they redrive to, the URL prefix the stop function derives
 * an owner's queue from, the IAM pattern of their names, and the managed policy an owner's role
 * needs (create, tag, receive and delete on its own queue only, named by its principal tag).
 */
export class SignalChannel extends Construct {
  readonly deadLetterQueue: sqs.Queue;
  /** `<prefix>-worker-`: every owner's queue name starts so. */
  readonly namePrefix: string;
  /** The DLQ's URL with its name replaced by the name prefix: an owner's URL is this plus its id. */
  readonly queueUrlPrefix: string;
  /** `arn:<partition>:sqs:<region>:<account>:<prefix>-worker-*`: every owner's queue, nothing else. */
  readonly queueArnPattern: string;
  /**
   * `arn:...:<prefix>-worker-${aws:PrincipalTag/stop-task-worker-id}`: the one queue of the owner
   * making the request. A principal without the tag matches no queue (IAM cannot resolve the variable).
   */
  readonly ownQueueArn: string;
  /** Attach to the role of each owner (worker or environment agent). */
  readonly ownerPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: SignalChannelProps) {
    super(scope, id);
    const { definition, prefix } = props;
    this.namePrefix = signalQueueNamePrefix(prefix, definition);
    if (definition.deadLetter.logicalName.startsWith(`${definition.ownerQueuePart}-`)) {
      throw new Error(
        `the DLQ ${definition.deadLetter.logicalName} would fall under its owners' pattern ${this.namePrefix}*`,
      );
    }

    // SQS-managed SSE: encrypted at rest with no KMS key, so senders need no kms:* grant.
    // enforceSSL adds the queue policy that denies any request not made over TLS.
    this.deadLetterQueue = new sqs.Queue(this, "DeadLetterQueue", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy: props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      queueName: physicalName(prefix, definition.deadLetter.logicalName),
      retentionPeriod: Duration.seconds(definition.deadLetter.retentionSeconds),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: "AwsSolutions-SQS3",
      reason:
        "This is the dead-letter queue of the owners' queues: each owner makes its queue at start with " +
        "a RedrivePolicy naming this one (lib/worker/signal-queue.ts), a link CloudFormation never sees.",
    });

    // `https:`, ``, `sqs.<region>.<suffix>`, `<account>`, `<name>`: SQS's own URL of the DLQ, so
    // the owners' URLs take whatever form SQS gives queues in this partition and region.
    const dlqUrlPart = (index: number) => Fn.select(index, Fn.split("/", this.deadLetterQueue.queueUrl));
    this.queueUrlPrefix = Fn.join("/", [dlqUrlPart(0), dlqUrlPart(1), dlqUrlPart(2), dlqUrlPart(3), this.namePrefix]);
    this.queueArnPattern = Stack.of(this).formatArn({
      service: "sqs",
      resource: `${this.namePrefix}*`,
      arnFormat: ArnFormat.NO_RESOURCE_NAME,
    });

    this.ownQueueArn = Stack.of(this).formatArn({
      service: "sqs",
      resource: `${this.namePrefix}\${aws:PrincipalTag/${definition.ownerPrincipalTag}}`,
      arnFormat: ArnFormat.NO_RESOURCE_NAME,
    });

    // One policy for every owner of the channel, each reaching its own queue only: the queue's name
    // is the prefix and the principal's tag. Another owner's queue, whose last-seen tag the sweep
    // trusts, is out of reach (docs/stop-delivery.md, "Permissions").
    this.ownerPolicy = new iam.ManagedPolicy(this, "OwnerPolicy", {
      managedPolicyName: physicalName(prefix, `${definition.ownerQueuePart}-signal-queue-owner`),
      description:
        `For ${props.owners}: make, tag and consume its own ${this.namePrefix}<id> stop-signal queue (lib/worker/), ` +
        `<id> being the role's or session's ${definition.ownerPrincipalTag} tag`,
      statements: [new iam.PolicyStatement({ actions: [...OWNER_QUEUE_ACTIONS], resources: [this.ownQueueArn] })],
    });
  }

  /** SendMessage to any owner's queue (not the DLQ), and the URL prefix in the function's `variable`. */
  grantSend(fn: ServiceFunction, variable: FunctionEnvironmentName): void {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ["sqs:SendMessage"], resources: [this.queueArnPattern] }));
    fn.setEnvironment(variable, this.queueUrlPrefix);
    this.acknowledgeOwnerPattern(
      fn.role,
      `The stop signal goes to the queue of the execution's worker or environment, ` +
        `derived from its id: ${this.namePrefix}* is exactly those queues.`,
    );
  }

  /**
   * What the sweep of vanished owners' queues reads and deletes, on the pattern only. ListQueues
   * has no resource type (IAM allows it only on `*`): the stack grants it once, beside this.
   */
  grantSweep(fn: ServiceFunction): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["sqs:ListQueueTags", "sqs:GetQueueAttributes", "sqs:DeleteQueue"],
        resources: [this.queueArnPattern],
      }),
    );
  }

  private readonly acknowledged = new Set<Construct>();

  private acknowledgeOwnerPattern(scope: Construct, reason: string): void {
    if (this.acknowledged.has(scope)) return;
    this.acknowledged.add(scope);
    Validations.of(scope).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sqs:<AWS::Region>:<AWS::AccountId>:${this.namePrefix}*]`,
      reason,
    });
  }
}
