import { describe, expect, it } from "vitest";
import { type CfnResource, logicalIdWhere, onlyResource, synthesizeStage } from "./synth.js";

interface Statement {
  Effect: "Allow" | "Deny";
  Action: string | string[];
  Resource: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

const policyTypes = ["AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"];

/** Every statement of every policy document the stack writes (identity and resource policies). */
function allStatements(resources: Record<string, CfnResource>): { owner: string; statement: Statement }[] {
  return Object.entries(resources).flatMap(([owner, resource]) => {
    const documents: { Statement: Statement[] }[] = [];
    if (policyTypes.includes(resource.Type)) documents.push(resource.Properties?.PolicyDocument as { Statement: Statement[] });
    if (resource.Type === "AWS::IAM::Role") {
      for (const inline of (resource.Properties?.Policies as { PolicyDocument: { Statement: Statement[] } }[]) ?? []) {
        documents.push(inline.PolicyDocument);
      }
    }
    return documents.flatMap((document) => document.Statement.map((statement) => ({ owner, statement })));
  });
}

/** String literals anywhere in a value, Fn::Join parts included. */
function literals(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(literals);
  if (value && typeof value === "object") return Object.values(value).flatMap(literals);
  return [];
}

describe.each(["dev", "prod"] as const)("IAM least privilege (%s)", (stage) => {
  const { template } = synthesizeStage(stage);
  const resources = template.toJSON().Resources as Record<string, CfnResource>;
  const arnOf = (type: string, property: string, value: string) => ({
    "Fn::GetAtt": [logicalIdWhere(template, type, property, value), "Arn"],
  });

  it("allows the stop function exactly its log writes, UpdateItem, GetItem and two SendMessage", () => {
    const { resource: policy } = onlyResource(template, "AWS::IAM::Policy");
    const roleId = logicalIdWhere(template, "AWS::IAM::Role", "Description", `stop-task-${stage}-stop-task: writes its own log group; tables and queues grant the rest`);

    expect(policy.Properties?.Roles).toEqual([{ Ref: roleId }]);
    expect(policy.Properties?.PolicyDocument).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
          Resource: arnOf("AWS::Logs::LogGroup", "LogGroupName", `/aws/lambda/stop-task-${stage}-stop-task`),
        },
        { Effect: "Allow", Action: "dynamodb:UpdateItem", Resource: arnOf("AWS::DynamoDB::Table", "TableName", `stop-task-${stage}-executions`) },
        { Effect: "Allow", Action: "dynamodb:GetItem", Resource: arnOf("AWS::DynamoDB::Table", "TableName", `stop-task-${stage}-api-keys`) },
        { Effect: "Allow", Action: "sqs:SendMessage", Resource: arnOf("AWS::SQS::Queue", "QueueName", `stop-task-${stage}-stop-signals`) },
        { Effect: "Allow", Action: "sqs:SendMessage", Resource: arnOf("AWS::SQS::Queue", "QueueName", `stop-task-${stage}-asset-commands`) },
      ],
    });
  });

  it("gives the stop function's role nothing besides that policy", () => {
    const role = Object.values(resources).find(
      (resource) => resource.Type === "AWS::IAM::Role" && String(resource.Properties?.Description).startsWith(`stop-task-${stage}-stop-task`),
    );
    expect(role?.Properties).toEqual({
      Description: `stop-task-${stage}-stop-task: writes its own log group; tables and queues grant the rest`,
      AssumeRolePolicyDocument: {
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Principal: { Service: "lambda.amazonaws.com" } }],
      },
    });
  });

  it("writes no Allow statement with a wildcard action or resource, in any policy", () => {
    const allows = allStatements(resources).filter(({ statement }) => statement.Effect === "Allow");
    expect(allows.length).toBeGreaterThan(0);
    for (const { owner, statement } of allows) {
      expect(literals(statement.Action).filter((action) => action.includes("*")), owner).toEqual([]);
      expect(literals(statement.Resource).filter((resource) => resource.includes("*")), owner).toEqual([]);
    }
  });

  it("uses a wildcard only to deny plain-HTTP requests to the queues and the alarm topic", () => {
    const wildcardStatements = allStatements(resources).filter(({ statement }) =>
      literals([statement.Action, statement.Resource, statement.Principal]).some((literal) => literal.includes("*")),
    );
    for (const { owner, statement } of wildcardStatements) {
      expect(statement.Effect, owner).toBe("Deny");
      expect(statement.Condition, owner).toEqual({ Bool: { "aws:SecureTransport": "false" } });
    }
    expect(wildcardStatements.map(({ owner }) => resources[owner]?.Type).sort()).toEqual([
      "AWS::SNS::TopicPolicy",
      "AWS::SQS::QueuePolicy",
      "AWS::SQS::QueuePolicy",
      "AWS::SQS::QueuePolicy",
      "AWS::SQS::QueuePolicy",
    ]);
  });

  it("attaches an AWS-managed policy only to API Gateway's account-level logging role", () => {
    const withManagedPolicies = Object.values(resources).filter(
      (resource) => resource.Type === "AWS::IAM::Role" && resource.Properties?.ManagedPolicyArns !== undefined,
    );
    expect(withManagedPolicies).toHaveLength(1);
    expect(withManagedPolicies[0]?.Properties).toEqual({
      AssumeRolePolicyDocument: {
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Principal: { Service: "apigateway.amazonaws.com" } }],
      },
      ManagedPolicyArns: [
        { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"]] },
      ],
    });
    // One per account and region, shared with every API there: never deleted with this stack.
    expect(withManagedPolicies[0]?.DeletionPolicy).toBe("Retain");
  });

  it("lets only API Gateway invoke the function, only through this API's routes", () => {
    const permissions = Object.values(template.findResources("AWS::Lambda::Permission"));
    expect(permissions).toHaveLength(1);
    expect(permissions[0]?.Properties).toMatchObject({
      Action: "lambda:InvokeFunction",
      Principal: "apigateway.amazonaws.com",
    });
    expect(literals(permissions[0]?.Properties.SourceArn).join("")).toMatch(/\/POST\/v1\/tasks\/\*\/stop$/);
  });
});
