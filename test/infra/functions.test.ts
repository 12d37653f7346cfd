import { describe, expect, it } from "vitest";
import { readStopTaskConfig } from "../../lib/config.js";
import { logicalIdWhere, onlyResource, synthesizeStage } from "./synth.js";

describe("the stop-task function", () => {
  const { template } = synthesizeStage("dev");
  const resources = template.toJSON().Resources;
  const { logicalId: functionId, resource: fn } = onlyResource(template, "AWS::Lambda::Function");
  const logGroupId = logicalIdWhere(template, "AWS::Logs::LogGroup", "LogGroupName", "/aws/lambda/stop-task-dev-stop-task");

  it("runs the bundled handler on nodejs22.x, arm64, 512 MB, 10 s", () => {
    expect(fn.Properties).toMatchObject({
      FunctionName: "stop-task-dev-stop-task",
      Handler: "index.handler",
      Runtime: "nodejs22.x",
      Architectures: ["arm64"],
      MemorySize: 512,
      Timeout: 10,
    });
  });

  it("logs structured JSON to its own log group, kept for the stage's retention", () => {
    expect(fn.Properties?.LoggingConfig).toEqual({
      LogFormat: "JSON",
      LogGroup: { Ref: logGroupId },
      ApplicationLogLevel: "INFO",
      SystemLogLevel: "WARN",
    });
    expect(resources[logGroupId].Properties.RetentionInDays).toBe(7);
    const prod = synthesizeStage("prod").template;
    prod.hasResource("AWS::Logs::LogGroup", {
      Properties: { LogGroupName: "/aws/lambda/stop-task-prod-stop-task", RetentionInDays: 90 },
      DeletionPolicy: "Retain",
    });
  });

  it("gets the tables and queues of this stack in exactly the variables lib/config.ts reads", () => {
    const ref = (type: string, name: string, value: string) => ({ Ref: logicalIdWhere(template, type, name, value) });
    expect(fn.Properties?.Environment).toEqual({
      Variables: {
        EXECUTIONS_TABLE_NAME: ref("AWS::DynamoDB::Table", "TableName", "stop-task-dev-executions"),
        API_KEYS_TABLE_NAME: ref("AWS::DynamoDB::Table", "TableName", "stop-task-dev-api-keys"),
        STOP_SIGNAL_QUEUE_URL: ref("AWS::SQS::Queue", "QueueName", "stop-task-dev-stop-signals"),
        ASSET_COMMAND_QUEUE_URL: ref("AWS::SQS::Queue", "QueueName", "stop-task-dev-asset-commands"),
        API_KEY_CACHE_TTL_SECONDS: "60",
        NODE_OPTIONS: "--enable-source-maps",
      },
    });
  });

  it("gets an environment the function's own config schema accepts once deployed", () => {
    // What CloudFormation will put in each Ref: a table's name, a queue's URL.
    const deployedValue = (value: unknown): string => {
      if (typeof value === "string") return value;
      const target = resources[(value as { Ref: string }).Ref];
      if (target.Type === "AWS::DynamoDB::Table") return target.Properties.TableName;
      if (target.Type === "AWS::SQS::Queue") return `https://sqs.eu-west-1.amazonaws.com/123456789012/${target.Properties.QueueName}`;
      throw new Error(`unexpected reference to ${target.Type}`);
    };
    const variables = fn.Properties?.Environment as { Variables: Record<string, unknown> };
    const env = Object.fromEntries(Object.entries(variables.Variables).map(([name, value]) => [name, deployedValue(value)]));

    const config = readStopTaskConfig(env);

    expect(config).toMatchObject({
      EXECUTIONS_TABLE_NAME: "stop-task-dev-executions",
      API_KEYS_TABLE_NAME: "stop-task-dev-api-keys",
      STOP_SIGNAL_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/123456789012/stop-task-dev-stop-signals",
      ASSET_COMMAND_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/123456789012/stop-task-dev-asset-commands",
      API_KEY_CACHE_TTL_SECONDS: 60,
    });
    // The emulator endpoints are for the local stack only.
    expect(config.DYNAMODB_ENDPOINT).toBeUndefined();
    expect(config.SQS_ENDPOINT).toBeUndefined();
  });

  it("is not traced and has no VPC, so its role needs no xray or ENI permissions", () => {
    expect(fn.Properties?.TracingConfig).toBeUndefined();
    expect(fn.Properties?.VpcConfig).toBeUndefined();
    expect(functionId).toMatch(/^StopTaskFunction/);
  });
});
