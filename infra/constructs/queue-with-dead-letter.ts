import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { physicalName, type QueueDefinition } from "../../lib/resources.js";

export interface QueueWithDeadLetterProps {
  readonly prefix: string;
  readonly definition: QueueDefinition;
  readonly retainData: boolean;
}

/**
 * A queue of the stack's own and its dead-letter queue, built from lib/resources.ts (retention,
 * visibility and maxReceiveCount), the same definition the local stack provisions from.
 */
export class QueueWithDeadLetter extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: QueueWithDeadLetterProps) {
    super(scope, id);
    const { definition, prefix } = props;
    const removalPolicy = props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    // SQS-managed SSE: encrypted at rest with no KMS key, so senders need no kms:* grant.
    // enforceSSL adds the queue policy that denies any request not made over TLS.
    const common = { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true, removalPolicy } as const;

    this.deadLetterQueue = new sqs.Queue(this, "DeadLetterQueue", {
      ...common,
      queueName: physicalName(prefix, definition.deadLetter.logicalName),
      retentionPeriod: Duration.seconds(definition.deadLetter.retentionSeconds),
    });
    this.queue = new sqs.Queue(this, "Queue", {
      ...common,
      queueName: physicalName(prefix, definition.logicalName),
      retentionPeriod: Duration.seconds(definition.retentionSeconds),
      visibilityTimeout: Duration.seconds(definition.visibilityTimeoutSeconds),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: definition.deadLetter.maxReceiveCount },
    });
  }
}
