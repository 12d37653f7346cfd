import { App } from "aws-cdk-lib";
import { describe, expect, it } from "vitest";
import { parseStage } from "../../infra/stages.js";
import { defineStopTaskApp } from "../../infra/stop-task-app.js";
import { synthesizeStage } from "./synth.js";

describe("stages", () => {
  it("defaults to dev when no stage is given", () => {
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
    expect(defineStopTaskApp(app).stackName).toBe("stop-task-dev");
  });

  it("refuses a stage it has no settings for, naming the known ones", () => {
    expect(() => parseStage("production")).toThrow('unknown stage "production": expected one of dev, prod');
  });

  it("refuses to deploy npm start's local stage, whose settings only the local server reads", () => {
    expect(() => parseStage("local")).toThrow('stage "local" is npm start\'s and is never deployed');
  });

  it.each(["dev", "prod"] as const)("prefixes every physical name of %s with stop-task-<stage>", (stage) => {
    const { stack, template } = synthesizeStage(stage);
    expect(stack.stackName).toBe(`stop-task-${stage}`);
    const names = Object.values(
      template.toJSON().Resources as Record<string, { Properties?: Record<string, unknown> }>,
    ).flatMap((resource) =>
      ["TableName", "QueueName", "FunctionName", "TopicName", "AlarmName", "Name"]
        .map((key) => resource.Properties?.[key])
        .filter((name): name is string => typeof name === "string"),
    );
    expect(names.length).toBeGreaterThan(10);
    for (const name of names) expect(name).toMatch(new RegExp(`^stop-task-${stage}-`));
  });

  it("outputs the API URL, the table names, the DLQ URLs and what workers need to make their queues", () => {
    const { template } = synthesizeStage("dev");
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    const resources = template.toJSON().Resources as Record<
      string,
      { Type: string; Properties: Record<string, unknown> }
    >;
    const refName = (output: string, property: string) => {
      const ref = (outputs[output]?.Value as { Ref: string } | undefined)?.Ref ?? "";
      return resources[ref]?.Properties[property];
    };
    expect(refName("ExecutionsTableName", "TableName")).toBe("stop-task-dev-executions");
    expect(refName("ApiKeysTableName", "TableName")).toBe("stop-task-dev-api-keys");
    expect(outputs.WorkerQueueNamePrefix?.Value).toBe("stop-task-dev-worker-");
    expect(outputs.EnvironmentQueueNamePrefix?.Value).toBe("stop-task-dev-env-");
    expect(refName("StopSignalDeadLetterQueueUrl", "QueueName")).toBe("stop-task-dev-stop-signals-dlq");
    expect(refName("AssetCommandDeadLetterQueueUrl", "QueueName")).toBe("stop-task-dev-asset-commands-dlq");
    expect(JSON.stringify(outputs.ApiUrl?.Value)).toMatch(/execute-api/);
    expect(outputs.AlarmTopicArn).toBeDefined();
  });
});
