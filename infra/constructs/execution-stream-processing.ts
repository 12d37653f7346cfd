import { Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { executionStreamProcessing, physicalName } from "../../lib/resources.js";
import type { ExecutionsTable } from "./executions-table.js";
import type { ServiceFunction } from "./service-function.js";

export interface ExecutionStreamProcessingProps {
  readonly prefix: string;
  readonly retainData: boolean;
  readonly table: ExecutionsTable;
  readonly fn: ServiceFunction;
}

/**
 * The executions table's stream feeding the stream processor: an event source mapping with the
 * settings and filters of lib/resources.ts (the local poller uses the same), partial batch
 * failures, bisect on error, and an on-failure queue that describes any record given up on.
 * The function's role gets the stream's read actions on this stream only, and SendMessage on
 * the failure queue only.
 */
export class ExecutionStreamProcessing extends Construct {
  readonly mapping: lambda.EventSourceMapping;
  readonly failureQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: ExecutionStreamProcessingProps) {
    super(scope, id);
    const { fn, table } = props;
    const settings = executionStreamProcessing;

    this.failureQueue = new sqs.Queue(this, "FailureQueue", {
      queueName: physicalName(props.prefix, settings.failureQueue.logicalName),
      retentionPeriod: Duration.seconds(settings.failureQueue.retentionSeconds),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy: props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    Validations.of(this.failureQueue).acknowledge({
      id: "AwsSolutions-SQS3",
      reason:
        "It is itself a dead-letter destination: the event source mapping's on-failure queue, watched by an alarm.",
    });

    const streamArn = table.tableStreamArn;
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
        resources: [streamArn],
      }),
    );
    // Lambda checks at mapping creation that the role may list streams. ListStreams takes no
    // resource (IAM only accepts "*" for it) and returns stream ARNs, never their records.
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ["dynamodb:ListStreams"], resources: ["*"] }));
    // Lambda sends the on-failure record with the function's role.
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ["sqs:SendMessage"], resources: [this.failureQueue.queueArn] }),
    );
    // Only this finding: any other wildcard on the role still fails the synth.
    Validations.of(fn.role).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "dynamodb:ListStreams supports no resource-level permission; every other stream action is on this table's stream ARN only.",
    });

    const failureQueueArn = this.failureQueue.queueArn;
    this.mapping = new lambda.EventSourceMapping(this, "Mapping", {
      target: fn.function,
      eventSourceArn: streamArn,
      startingPosition: lambda.StartingPosition[settings.startingPosition],
      batchSize: settings.batchSize,
      parallelizationFactor: settings.parallelizationFactor,
      bisectBatchOnError: settings.bisectBatchOnError,
      reportBatchItemFailures: settings.reportBatchItemFailures,
      retryAttempts: settings.maxRetryAttempts,
      maxRecordAge: Duration.seconds(settings.maxRecordAgeSeconds),
      // The permission is granted above, SendMessage only (SqsDlq would add GetQueueAttributes and GetQueueUrl).
      onFailure: { bind: () => ({ destination: failureQueueArn }) },
      filters: settings.filterPatterns.map((pattern) => ({ pattern: JSON.stringify(pattern) })),
    });
    // The mapping must not start before the role may read the stream.
    this.mapping.node.addDependency(fn.role);
  }
}
