import { describe, expect, it } from "vitest";
import { OWNER_QUEUE_ACTIONS } from "../../infra/constructs/signal-queue.js";
import { executionStreamProcessing, signalChannels, taskEventsQueue } from "../../lib/resources.js";
import { logicalIdWhere, synthesizeStage } from "./synth.js";

const channels = Object.values(signalChannels);
const arnOfQueueNamed = (name: string) => ({
  "Fn::Join": [
    "",
    ["arn:", { Ref: "AWS::Partition" }, ":sqs:", { Ref: "AWS::Region" }, ":", { Ref: "AWS::AccountId" }, `:${name}`],
  ],
});

describe("the signal channels built from lib/resources.ts", () => {
  const { template } = synthesizeStage("dev");
  const resources = template.toJSON().Resources;
  const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;

  it(
    "creates each channel's dead-letter queue and no queue of the owners' (they make their " +
      "own), the stream's failure queue, the example task-events queue with its DLQ, and the bulk stop jobs' queue with its DLQ",
    () => {
      template.resourceCountIs("AWS::SQS::Queue", channels.length + 1 + 2 + 2);
    },
  );

  it("keeps the stream's failure queue two weeks, encrypted, and redrives it nowhere", () => {
    const failureId = logicalIdWhere(
      template,
      "AWS::SQS::Queue",
      "QueueName",
      `stop-task-dev-${executionStreamProcessing.failureQueue.logicalName}`,
    );
    expect(resources[failureId].Properties).toEqual({
      QueueName: `stop-task-dev-${executionStreamProcessing.failureQueue.logicalName}`,
      MessageRetentionPeriod: executionStreamProcessing.failureQueue.retentionSeconds,
      SqsManagedSseEnabled: true,
    });
  });

  it("builds the example task-events queue with its retention, visibility timeout, SSE and redrive to its DLQ", () => {
    const queueId = logicalIdWhere(
      template,
      "AWS::SQS::Queue",
      "QueueName",
      `stop-task-dev-${taskEventsQueue.logicalName}`,
    );
    const dlqId = logicalIdWhere(
      template,
      "AWS::SQS::Queue",
      "QueueName",
      `stop-task-dev-${taskEventsQueue.deadLetter.logicalName}`,
    );
    expect(resources[queueId].Properties).toEqual({
      QueueName: `stop-task-dev-${taskEventsQueue.logicalName}`,
      MessageRetentionPeriod: taskEventsQueue.retentionSeconds,
      VisibilityTimeout: taskEventsQueue.visibilityTimeoutSeconds,
      SqsManagedSseEnabled: true,
      RedrivePolicy: {
        deadLetterTargetArn: { "Fn::GetAtt": [dlqId, "Arn"] },
        maxReceiveCount: taskEventsQueue.deadLetter.maxReceiveCount,
      },
    });
  });

  it.each(channels.map((channel) => [channel.deadLetter.logicalName, channel] as const))(
    "builds %s with its retention and SSE, outside its owners' name pattern",
    (logicalName, channel) => {
      const dlqId = logicalIdWhere(template, "AWS::SQS::Queue", "QueueName", `stop-task-dev-${logicalName}`);
      expect(resources[dlqId].Properties).toEqual({
        QueueName: `stop-task-dev-${logicalName}`,
        MessageRetentionPeriod: channel.deadLetter.retentionSeconds,
        SqsManagedSseEnabled: true,
      });
      expect(logicalName.startsWith(`${channel.ownerQueuePart}-`)).toBe(false);
    },
  );

  it("redrives after five failed deliveries: only the owner receives, so no release ever counts", () => {
    for (const channel of channels) expect(channel.deadLetter.maxReceiveCount).toBe(5);
  });

  it("denies every request that is not made over TLS, on each DLQ", () => {
    const policies = Object.values(template.findResources("AWS::SQS::QueuePolicy"));
    const guarded = policies.flatMap((policy) => {
      expect(policy.Properties.PolicyDocument.Statement[0]).toEqual({
        Effect: "Deny",
        Principal: { AWS: "*" },
        Action: "sqs:*",
        Resource: { "Fn::GetAtt": [expect.any(String), "Arn"] },
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      });
      // Anything else a queue policy allows is EventBridge delivering the example rule's events
      // (test/infra/task-events.test.ts).
      for (const statement of policy.Properties.PolicyDocument.Statement.slice(1)) {
        expect(statement).toMatchObject({
          Effect: "Allow",
          Principal: { Service: "events.amazonaws.com" },
          Action: "sqs:SendMessage",
        });
      }
      return policy.Properties.Queues.map((queue: { Ref: string }) => queue.Ref);
    });
    expect(guarded.sort()).toEqual(Object.keys(template.findResources("AWS::SQS::Queue")).sort());
  });

  it.each([
    ["workers", "worker", "stop-signals-dlq", "Worker", "StopSignal", "stop-task-worker-id"],
    [
      "self-hosted environments",
      "env",
      "asset-commands-dlq",
      "Environment",
      "AssetCommand",
      "stop-task-environment-id",
    ],
  ])(
    "gives %s a managed policy to make, tag and consume each its own queue (named by its principal tag), and nothing else, and outputs what they need",
    (_owners, part, dlq, output, dlqOutput, principalTag) => {
      const policyId = logicalIdWhere(
        template,
        "AWS::IAM::ManagedPolicy",
        "ManagedPolicyName",
        `stop-task-dev-${part}-signal-queue-owner`,
      );
      expect(resources[policyId].Properties.PolicyDocument.Statement).toEqual([
        {
          Effect: "Allow",
          // What each does on its own queue, and on no other: test/infra/owner-isolation.test.ts.
          Action: [...OWNER_QUEUE_ACTIONS],
          // IAM puts the requester's tag in: test/infra/owner-isolation.test.ts simulates it.
          Resource: arnOfQueueNamed(`stop-task-dev-${part}-\${aws:PrincipalTag/${principalTag}}`),
        },
        {
          Effect: "Allow",
          Action: "dynamodb:UpdateItem",
          Resource: {
            "Fn::GetAtt": [
              logicalIdWhere(template, "AWS::DynamoDB::Table", "TableName", "stop-task-dev-executions"),
              "Arn",
            ],
          },
        },
      ]);
      expect(resources[policyId].Properties.Roles).toBeUndefined();
      const dlqId = logicalIdWhere(template, "AWS::SQS::Queue", "QueueName", `stop-task-dev-${dlq}`);
      expect(outputs[`${output}QueueNamePrefix`]?.Value).toBe(`stop-task-dev-${part}-`);
      expect(outputs[`${output}PolicyArn`]?.Value).toEqual({ Ref: policyId });
      expect(outputs[`${dlqOutput}DeadLetterQueueArn`]?.Value).toEqual({ "Fn::GetAtt": [dlqId, "Arn"] });
    },
  );

  it("sweeps the owners' queues hourly through the cleanup function", () => {
    const cleanupId = logicalIdWhere(template, "AWS::Lambda::Function", "FunctionName", "stop-task-dev-cleanup");
    const ruleId = logicalIdWhere(template, "AWS::Events::Rule", "Name", "stop-task-dev-signal-queue-sweep-schedule");
    expect(resources[ruleId].Properties).toMatchObject({
      ScheduleExpression: "rate(1 hour)",
      Targets: [
        {
          Arn: { "Fn::GetAtt": [cleanupId, "Arn"] },
          Input: JSON.stringify({ job: "sweep-signal-queues" }),
          RetryPolicy: { MaximumRetryAttempts: 0 },
        },
      ],
    });
  });

  it("keeps prod DLQs when the stack is deleted and lets dev DLQs go", () => {
    const prod = synthesizeStage("prod").template;
    for (const queue of Object.values(prod.findResources("AWS::SQS::Queue")))
      expect(queue.DeletionPolicy).toBe("Retain");
    for (const queue of Object.values(template.findResources("AWS::SQS::Queue")))
      expect(queue.DeletionPolicy).toBe("Delete");
  });
});
