import { describe, expect, it } from "vitest";
import { logicalIdWhere, onlyResource, synthesizeStage } from "./synth.js";

describe.each(["dev", "prod"] as const)("the cleanup schedule (%s)", (stage) => {
  const { template } = synthesizeStage(stage);
  const cleanupId = logicalIdWhere(template, "AWS::Lambda::Function", "FunctionName", `stop-task-${stage}-cleanup`);

  it("runs the cleanup every minute through one EventBridge rule, without retrying a failed delivery", () => {
    // The only scheduled rule (the example task-events rule matches events, test/infra/execution-stream.test.ts).
    const scheduled = Object.values(template.findResources("AWS::Events::Rule")).filter((rule) => rule.Properties.ScheduleExpression);
    expect(scheduled).toHaveLength(1);
    expect(scheduled[0]?.Properties).toEqual({
      Name: `stop-task-${stage}-cleanup-schedule`,
      Description: expect.any(String),
      ScheduleExpression: "rate(1 minute)",
      State: "ENABLED",
      Targets: [{ Id: expect.any(String), Arn: { "Fn::GetAtt": [cleanupId, "Arn"] }, RetryPolicy: { MaximumRetryAttempts: 0 } }],
    });
  });

  it("leaves a failed run to the next scheduled one: no asynchronous retries of the cleanup", () => {
    const { resource: invokeConfig } = onlyResource(template, "AWS::Lambda::EventInvokeConfig");
    expect(invokeConfig.Properties).toEqual({ FunctionName: { Ref: cleanupId }, Qualifier: "$LATEST", MaximumRetryAttempts: 0 });
  });

  it("outputs the cleanup's name for a manual run", () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.CleanupFunctionName?.Value).toEqual({ Ref: cleanupId });
  });
});
