import { describe, expect, it } from "vitest";
import * as config from "../../lib/config.js";
import { functionDefinitions } from "../../lib/resources.js";
import { type CfnResource, logicalIdWhere, synthesizeStage } from "./synth.js";

const functionNames = Object.keys(functionDefinitions);

/** What CloudFormation will put in each Ref of an environment: a table's name, a queue's URL. */
function deployedEnvironment(resources: Record<string, CfnResource>, variables: Record<string, unknown>): Record<string, string> {
  const deployedValue = (value: unknown): string => {
    if (typeof value === "string") return value;
    const target = resources[(value as { Ref: string }).Ref];
    if (target?.Type === "AWS::DynamoDB::Table") return String(target.Properties?.TableName);
    if (target?.Type === "AWS::SQS::Queue") return `https://sqs.eu-west-1.amazonaws.com/123456789012/${target.Properties?.QueueName}`;
    throw new Error(`unexpected reference to ${target?.Type}`);
  };
  return Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, deployedValue(value)]));
}

/** lib/config.ts names each function's reader after it: `stop-task` -> readStopTaskConfig. */
function configReaderOf(name: string): (env: Record<string, string>) => Record<string, unknown> {
  const readerName = `read${name.replace(/(^|-)([a-z])/g, (_m, _d, letter: string) => letter.toUpperCase())}Config`;
  const reader = (config as unknown as Record<string, unknown>)[readerName];
  if (typeof reader !== "function") throw new Error(`lib/config.ts has no ${readerName}`);
  return reader as (env: Record<string, string>) => Record<string, unknown>;
}

describe("the functions", () => {
  const { template } = synthesizeStage("dev");
  const resources = template.toJSON().Resources as Record<string, CfnResource>;
  const functionNamed = (name: string) => {
    const id = logicalIdWhere(template, "AWS::Lambda::Function", "FunctionName", `stop-task-dev-${name}`);
    return resources[id] as CfnResource;
  };
  const ref = (type: string, property: string, value: string) => ({ Ref: logicalIdWhere(template, type, property, value) });

  it("creates one function per entry of lib/resources.ts functionDefinitions", () => {
    template.resourceCountIs("AWS::Lambda::Function", functionNames.length);
  });

  it.each(functionNames)("runs %s bundled on nodejs22.x, arm64, 512 MB, 10 s, without tracing or VPC", (name) => {
    const fn = functionNamed(name);
    expect(fn.Properties).toMatchObject({
      Handler: `index.${functionDefinitions[name as keyof typeof functionDefinitions].handlerExport}`,
      Runtime: "nodejs22.x",
      Architectures: ["arm64"],
      MemorySize: 512,
      Timeout: 10,
    });
    expect(fn.Properties?.TracingConfig).toBeUndefined();
    expect(fn.Properties?.VpcConfig).toBeUndefined();
  });

  it.each(functionNames)("logs %s as JSON to its own log group, kept for the stage's retention", (name) => {
    const logGroupId = logicalIdWhere(template, "AWS::Logs::LogGroup", "LogGroupName", `/aws/lambda/stop-task-dev-${name}`);
    expect(functionNamed(name).Properties?.LoggingConfig).toEqual({
      LogFormat: "JSON",
      LogGroup: { Ref: logGroupId },
      ApplicationLogLevel: "INFO",
      SystemLogLevel: "WARN",
    });
    expect(resources[logGroupId]?.Properties?.RetentionInDays).toBe(7);
    synthesizeStage("prod").template.hasResource("AWS::Logs::LogGroup", {
      Properties: { LogGroupName: `/aws/lambda/stop-task-prod-${name}`, RetentionInDays: 90 },
      DeletionPolicy: "Retain",
    });
  });

  it("gives the stop function the tables and queues of this stack in the variables lib/config.ts reads", () => {
    expect(functionNamed("stop-task").Properties?.Environment).toEqual({
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

  it.each(functionNames)("gives %s an environment its own config schema accepts once deployed", (name) => {
    const variables = (functionNamed(name).Properties?.Environment as { Variables: Record<string, unknown> } | undefined)?.Variables ?? {};
    const env = deployedEnvironment(resources, variables);

    const parsed = configReaderOf(name)(env);

    expect(parsed).toMatchObject({
      EXECUTIONS_TABLE_NAME: "stop-task-dev-executions",
      API_KEYS_TABLE_NAME: "stop-task-dev-api-keys",
      API_KEY_CACHE_TTL_SECONDS: 60,
    });
    // The emulator endpoints are for the local stack only.
    expect(parsed.DYNAMODB_ENDPOINT).toBeUndefined();
    expect(parsed.SQS_ENDPOINT).toBeUndefined();
  });
});
