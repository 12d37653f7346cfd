import { describe, expect, it } from "vitest";
import { executionStreamProcessing, queues, taskEventsQueue } from "../../lib/resources.js";
import { logicalIdWhere, synthesizeStage } from "./synth.js";

// The signal queues, and the queue the example rule routes one organization's task events to.
const definitions = [...Object.values(queues), taskEventsQueue];

describe("SQS queues and dead-letter queues built from lib/resources.ts", () => {
  const { template } = synthesizeStage("dev");
  const resources = template.toJSON().Resources;

  it("creates each queue and its DLQ, the stream's failure queue, and nothing else", () => {
    template.resourceCountIs("AWS::SQS::Queue", definitions.length * 2 + 1);
  });

  it("keeps the stream's failure queue two weeks, encrypted, and redrives it nowhere", () => {
    const failureId = logicalIdWhere(template, "AWS::SQS::Queue", "QueueName", `stop-task-dev-${executionStreamProcessing.failureQueue.logicalName}`);
    expect(resources[failureId].Properties).toEqual({
      QueueName: `stop-task-dev-${executionStreamProcessing.failureQueue.logicalName}`,
      MessageRetentionPeriod: executionStreamProcessing.failureQueue.retentionSeconds,
      SqsManagedSseEnabled: true,
    });
  });

  it.each(definitions.map((definition) => [definition.logicalName, definition] as const))(
    "builds %s with its retention, visibility timeout, SSE and redrive to its DLQ",
    (logicalName, definition) => {
      const queueId = logicalIdWhere(template, "AWS::SQS::Queue", "QueueName", `stop-task-dev-${logicalName}`);
      const dlqId = logicalIdWhere(template, "AWS::SQS::Queue", "QueueName", `stop-task-dev-${definition.deadLetter.logicalName}`);

      expect(resources[queueId].Properties).toEqual({
        QueueName: `stop-task-dev-${logicalName}`,
        MessageRetentionPeriod: definition.retentionSeconds,
        VisibilityTimeout: definition.visibilityTimeoutSeconds,
        SqsManagedSseEnabled: true,
        RedrivePolicy: {
          deadLetterTargetArn: { "Fn::GetAtt": [dlqId, "Arn"] },
          maxReceiveCount: definition.deadLetter.maxReceiveCount,
        },
      });
      expect(resources[dlqId].Properties).toEqual({
        QueueName: `stop-task-dev-${definition.deadLetter.logicalName}`,
        MessageRetentionPeriod: definition.deadLetter.retentionSeconds,
        SqsManagedSseEnabled: true,
      });
    },
  );

  it("denies every request that is not made over TLS, on each queue and DLQ", () => {
    const policies = Object.values(template.findResources("AWS::SQS::QueuePolicy"));
    const guarded = policies.flatMap((policy) => {
      expect(policy.Properties.PolicyDocument.Statement[0]).toEqual(
        {
          Effect: "Deny",
          Principal: { AWS: "*" },
          Action: "sqs:*",
          Resource: { "Fn::GetAtt": [expect.any(String), "Arn"] },
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        },
      );
      // Anything else a queue policy allows is EventBridge delivering the example rule's events (test/infra/task-events.test.ts).
      for (const statement of policy.Properties.PolicyDocument.Statement.slice(1)) {
        expect(statement).toMatchObject({ Effect: "Allow", Principal: { Service: "events.amazonaws.com" }, Action: "sqs:SendMessage" });
      }
      return policy.Properties.Queues.map((queue: { Ref: string }) => queue.Ref);
    });
    expect(guarded.sort()).toEqual(Object.keys(template.findResources("AWS::SQS::Queue")).sort());
  });

  it("keeps prod queues when the stack is deleted and lets dev queues go", () => {
    const prod = synthesizeStage("prod").template;
    for (const queue of Object.values(prod.findResources("AWS::SQS::Queue"))) expect(queue.DeletionPolicy).toBe("Retain");
    for (const queue of Object.values(template.findResources("AWS::SQS::Queue"))) expect(queue.DeletionPolicy).toBe("Delete");
  });
});
