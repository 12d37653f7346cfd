import { describe, expect, it } from "vitest";
import * as config from "../../lib/config.js";
import { functionDefinitions, routeFunctionNames } from "../../lib/resources.js";
import { type CfnResource, logicalIdWhere, synthesizeStage } from "./synth.js";

const functionNames = Object.keys(functionDefinitions);

/** API functions answer a request within 10 s; the cleanup is one bounded run a minute. */
const sizing: Record<string, { MemorySize: number; Timeout: number }> = {
  "stop-task": { MemorySize: 512, Timeout: 10 },
  "get-task": { MemorySize: 512, Timeout: 10 },
  cleanup: { MemorySize: 512, Timeout: 60 },
  "execution-stream": { MemorySize: 512, Timeout: 60 },
  "bulk-stop": { MemorySize: 512, Timeout: 60 },
};

/** What each function's config must come out as once deployed (lib/config.ts defaults included). */
const deployedConfig: Record<string, Record<string, unknown>> = {
  "stop-task": {
    EXECUTIONS_TABLE_NAME: "stop-task-dev-executions",
    API_KEYS_TABLE_NAME: "stop-task-dev-api-keys",
    API_KEY_CACHE_TTL_SECONDS: 60,
    WORKER_QUEUE_URL_PREFIX: "https://sqs.eu-west-1.amazonaws.com/123456789012/stop-task-dev-worker-",
    ENVIRONMENT_QUEUE_URL_PREFIX: "https://sqs.eu-west-1.amazonaws.com/123456789012/stop-task-dev-env-",
  },
  "get-task": {
    EXECUTIONS_TABLE_NAME: "stop-task-dev-executions",
    API_KEYS_TABLE_NAME: "stop-task-dev-api-keys",
    API_KEY_CACHE_TTL_SECONDS: 60,
  },
  cleanup: {
    EXECUTIONS_TABLE_NAME: "stop-task-dev-executions",
    WORKER_QUEUE_URL_PREFIX: "https://sqs.eu-west-1.amazonaws.com/123456789012/stop-task-dev-worker-",
    ENVIRONMENT_QUEUE_URL_PREFIX: "https://sqs.eu-west-1.amazonaws.com/123456789012/stop-task-dev-env-",
    STOP_FUNCTION_NAME: "stop-task-dev-stop-task",
    // Left to lib/config.ts's defaults, which the stop function shares for the ack timeout.
    SIGNAL_ACK_TIMEOUT_SECONDS: 60,
    SIGNAL_MAX_ATTEMPTS: 5,
    STALE_HEARTBEAT_SECONDS: 300,
    MAX_EXECUTION_SECONDS: 6 * 60 * 60,
    CLEANUP_MAX_ITEMS_PER_RUN: 200,
  },
  "execution-stream": {
    EXECUTIONS_TABLE_NAME: "stop-task-dev-executions",
    WORKER_QUEUE_URL_PREFIX: "https://sqs.eu-west-1.amazonaws.com/123456789012/stop-task-dev-worker-",
    ENVIRONMENT_QUEUE_URL_PREFIX: "https://sqs.eu-west-1.amazonaws.com/123456789012/stop-task-dev-env-",
    EVENT_BUS_NAME: "stop-task-dev-task-events",
    // Shared with the stop function: a cascaded stop is due for re-drive after the same time.
    SIGNAL_ACK_TIMEOUT_SECONDS: 60,
    CASCADE_CHILDREN_PER_RECORD: 25,
    BULK_STOPS_TABLE_NAME: "stop-task-dev-bulk-stops",
  },
  "bulk-stop": {
    EXECUTIONS_TABLE_NAME: "stop-task-dev-executions",
    API_KEYS_TABLE_NAME: "stop-task-dev-api-keys",
    BULK_STOPS_TABLE_NAME: "stop-task-dev-bulk-stops",
    BULK_STOP_JOBS_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/123456789012/stop-task-dev-bulk-stop-jobs",
    WORKER_QUEUE_URL_PREFIX: "https://sqs.eu-west-1.amazonaws.com/123456789012/stop-task-dev-worker-",
    ENVIRONMENT_QUEUE_URL_PREFIX: "https://sqs.eu-west-1.amazonaws.com/123456789012/stop-task-dev-env-",
    EVENT_BUS_NAME: "stop-task-dev-task-events",
  },
};

/**
 * What CloudFormation will put in an environment: each Ref a table's name, a queue's URL or a
 * function's name, and the intrinsic functions the stack uses on them evaluated as it would.
 */
function deployedEnvironment(
  resources: Record<string, CfnResource>,
  variables: Record<string, unknown>,
): Record<string, string> {
  const evaluate = (value: unknown): string | string[] => {
    if (typeof value === "string") return value;
    if (Array.isArray(value)) return value.map((item) => String(evaluate(item)));
    const intrinsic = value as Record<string, unknown>;
    if ("Fn::Join" in intrinsic) {
      const [separator, parts] = intrinsic["Fn::Join"] as [string, unknown[]];
      return parts.map((part) => String(evaluate(part))).join(separator);
    }
    if ("Fn::Split" in intrinsic) {
      const [separator, text] = intrinsic["Fn::Split"] as [string, unknown];
      return String(evaluate(text)).split(separator);
    }
    if ("Fn::Select" in intrinsic) {
      const [index, list] = intrinsic["Fn::Select"] as [number, unknown];
      return (evaluate(list) as string[])[index] ?? "";
    }
    const target = resources[(intrinsic as { Ref: string }).Ref];
    if (target?.Type === "AWS::DynamoDB::Table") return String(target.Properties?.TableName);
    if (target?.Type === "AWS::SQS::Queue")
      return `https://sqs.eu-west-1.amazonaws.com/123456789012/${target.Properties?.QueueName}`;
    if (target?.Type === "AWS::Lambda::Function") return String(target.Properties?.FunctionName);
    if (target?.Type === "AWS::Events::EventBus") return String(target.Properties?.Name);
    throw new Error(`unexpected reference to ${target?.Type}`);
  };
  return Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, String(evaluate(value))]));
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
  const ref = (type: string, property: string, value: string) => ({
    Ref: logicalIdWhere(template, type, property, value),
  });

  it("creates one function per entry of lib/resources.ts functionDefinitions", () => {
    template.resourceCountIs("AWS::Lambda::Function", functionNames.length);
  });

  it.each(functionNames)(
    "runs %s bundled on nodejs22.x, arm64, with its memory and timeout, without tracing or VPC",
    (name) => {
      const fn = functionNamed(name);
      expect(sizing[name], `no sizing for ${name} in this test`).toBeDefined();
      expect(fn.Properties).toMatchObject({
        Handler: `index.${functionDefinitions[name as keyof typeof functionDefinitions].handlerExport}`,
        Runtime: "nodejs22.x",
        Architectures: ["arm64"],
        ...sizing[name],
      });
      expect(fn.Properties?.TracingConfig).toBeUndefined();
      expect(fn.Properties?.VpcConfig).toBeUndefined();
    },
  );

  it.each(functionNames)("logs %s as JSON to its own log group, kept for the stage's retention", (name) => {
    const logGroupId = logicalIdWhere(
      template,
      "AWS::Logs::LogGroup",
      "LogGroupName",
      `/aws/lambda/stop-task-dev-${name}`,
    );
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

  /** An owner's queue URL prefix: its channel's DLQ URL (SQS's own form for this region) with the name replaced. */
  const urlPrefixFrom = (dlqName: string, namePrefix: string) => {
    const part = (index: number) => ({
      "Fn::Select": [index, { "Fn::Split": ["/", ref("AWS::SQS::Queue", "QueueName", dlqName)] }],
    });
    return { "Fn::Join": ["/", [part(0), part(1), part(2), part(3), namePrefix]] };
  };
  const signalQueueVariables = () => ({
    WORKER_QUEUE_URL_PREFIX: urlPrefixFrom("stop-task-dev-stop-signals-dlq", "stop-task-dev-worker-"),
    ENVIRONMENT_QUEUE_URL_PREFIX: urlPrefixFrom("stop-task-dev-asset-commands-dlq", "stop-task-dev-env-"),
  });

  it("gives the stop function the tables of this stack and the owners' queue URL prefixes, in the variables lib/config.ts reads", () => {
    expect(functionNamed("stop-task").Properties?.Environment).toEqual({
      Variables: {
        EXECUTIONS_TABLE_NAME: ref("AWS::DynamoDB::Table", "TableName", "stop-task-dev-executions"),
        API_KEYS_TABLE_NAME: ref("AWS::DynamoDB::Table", "TableName", "stop-task-dev-api-keys"),
        ...signalQueueVariables(),
        API_KEY_CACHE_TTL_SECONDS: "60",
      },
    });
  });

  it("gives the cleanup its table, both URL prefixes, the stop function's name and the limits table, and nothing of the API keys", () => {
    expect(functionNamed("cleanup").Properties?.Environment).toEqual({
      Variables: {
        EXECUTIONS_TABLE_NAME: ref("AWS::DynamoDB::Table", "TableName", "stop-task-dev-executions"),
        ...signalQueueVariables(),
        STOP_FUNCTION_NAME: ref("AWS::Lambda::Function", "FunctionName", "stop-task-dev-stop-task"),
        LIMITS_TABLE_NAME: ref("AWS::DynamoDB::Table", "TableName", "stop-task-dev-limits"),
        SWEEP_POSITIONS_TABLE_NAME: ref("AWS::DynamoDB::Table", "TableName", "stop-task-dev-sweep-positions"),
      },
    });
  });

  it("gives the stream processor its table, the limits table, both signal channels and the events bus, and nothing of the API keys", () => {
    expect(functionNamed("execution-stream").Properties?.Environment).toEqual({
      Variables: {
        EXECUTIONS_TABLE_NAME: ref("AWS::DynamoDB::Table", "TableName", "stop-task-dev-executions"),
        LIMITS_TABLE_NAME: ref("AWS::DynamoDB::Table", "TableName", "stop-task-dev-limits"),
        ...signalQueueVariables(),
        EVENT_BUS_NAME: ref("AWS::Events::EventBus", "Name", "stop-task-dev-task-events"),
        BULK_STOPS_TABLE_NAME: ref("AWS::DynamoDB::Table", "TableName", "stop-task-dev-bulk-stops"),
      },
    });
  });

  it("serves no route with the cleanup nor the stream processor", () => {
    expect(routeFunctionNames).not.toContain("execution-stream");
  });

  it("serves no route with the cleanup: it runs on its schedule only", () => {
    expect(routeFunctionNames).not.toContain("cleanup");
    const cleanupArn = JSON.stringify({
      "Fn::GetAtt": [logicalIdWhere(template, "AWS::Lambda::Function", "FunctionName", "stop-task-dev-cleanup"), "Arn"],
    });
    const methods = Object.values(template.findResources("AWS::ApiGateway::Method"));
    expect(methods.length).toBeGreaterThan(0);
    for (const method of methods) expect(JSON.stringify(method.Properties.Integration)).not.toContain(cleanupArn);
  });

  it.each(functionNames)("gives %s an environment its own config schema accepts once deployed", (name) => {
    const variables =
      (functionNamed(name).Properties?.Environment as { Variables: Record<string, unknown> } | undefined)?.Variables ??
      {};
    const env = deployedEnvironment(resources, variables);

    const parsed = configReaderOf(name)(env);

    expect(deployedConfig[name], `no deployed config for ${name} in this test`).toBeDefined();
    expect(parsed).toMatchObject(deployedConfig[name] ?? {});
    // The emulator endpoints are for the local stack only.
    expect(parsed.DYNAMODB_ENDPOINT).toBeUndefined();
    expect(parsed.SQS_ENDPOINT).toBeUndefined();
  });
});
