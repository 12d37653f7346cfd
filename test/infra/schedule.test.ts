import { describe, expect, it } from "vitest";
import { logicalIdWhere, onlyResource, synthesizeStage } from "./synth.js";

describe.each(["dev", "prod"] as const)("the cleanup schedule (%s)", (stage) => {
  const { template } = synthesizeStage(stage);
  const cleanupId = logicalIdWhere(template, "AWS::Lambda::Function", "FunctionName", `stop-task-${stage}-cleanup`);

  it("runs the cleanup every minute through one EventBridge rule, without retrying a failed delivery", () => {
    const ruleId = logicalIdWhere(template, "AWS::Events::Rule", "Name", `stop-task-${stage}-cleanup-schedule`);
    const rule = template.toJSON().Resources[ruleId];
    expect(rule.Properties).toEqual({
      Name: `stop-task-${stage}-cleanup-schedule`,
      Description: expect.any(String),
      ScheduleExpression: "rate(1 minute)",
      State: "ENABLED",
      Targets: [
        { Id: expect.any(String), Arn: { "Fn::GetAtt": [cleanupId, "Arn"] }, RetryPolicy: { MaximumRetryAttempts: 0 } },
      ],
    });
  });

  it("sweeps idle signal queues every hour through a second rule, whose input names the job", () => {
    const ruleId = logicalIdWhere(
      template,
      "AWS::Events::Rule",
      "Name",
      `stop-task-${stage}-signal-queue-sweep-schedule`,
    );
    expect(template.toJSON().Resources[ruleId].Properties).toEqual({
      Name: `stop-task-${stage}-signal-queue-sweep-schedule`,
      Description: expect.any(String),
      ScheduleExpression: "rate(1 hour)",
      State: "ENABLED",
      Targets: [
        {
          Id: expect.any(String),
          Arn: { "Fn::GetAtt": [cleanupId, "Arn"] },
          Input: '{"job":"sweep-signal-queues"}',
          RetryPolicy: { MaximumRetryAttempts: 0 },
        },
      ],
    });
    // The only scheduled rules (the example task-events rule matches events: test/infra/execution-stream.test.ts).
    const scheduled = Object.values(template.findResources("AWS::Events::Rule")).filter(
      (rule) => rule.Properties.ScheduleExpression,
    );
    expect(scheduled).toHaveLength(2);
  });

  it("leaves a failed run to the next scheduled one: no asynchronous retries of the cleanup", () => {
    const { resource: invokeConfig } = onlyResource(template, "AWS::Lambda::EventInvokeConfig");
    expect(invokeConfig.Properties).toEqual({
      FunctionName: { Ref: cleanupId },
      Qualifier: "$LATEST",
      MaximumRetryAttempts: 0,
    });
  });

  it("outputs the cleanup's name for a manual run", () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.CleanupFunctionName?.Value).toEqual({ Ref: cleanupId });
  });
});
