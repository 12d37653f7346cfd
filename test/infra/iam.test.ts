import { describe, expect, it } from "vitest";
import { type StageSettings, stageSettings } from "../../infra/stages.js";
import { executionIndexes, functionDefinitions, routes } from "../../lib/resources.js";
import { type CfnResource, logicalIdWhere, synthesizeStage } from "./synth.js";

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
    if (policyTypes.includes(resource.Type))
      documents.push(resource.Properties?.PolicyDocument as { Statement: Statement[] });
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
  const exampleOrganization = (stageSettings[stage] as StageSettings).taskEventsOrganization;
  const { template } = synthesizeStage(stage);
  const resources = template.toJSON().Resources as Record<string, CfnResource>;
  const arnOf = (type: string, property: string, value: string) => ({
    "Fn::GetAtt": [logicalIdWhere(template, type, property, value), "Arn"],
  });

  const logWrites = (name: string) => ({
    Effect: "Allow",
    Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
    Resource: arnOf("AWS::Logs::LogGroup", "LogGroupName", `/aws/lambda/stop-task-${stage}-${name}`),
  });
  const allow = (action: string, type: string, property: string, name: string) => ({
    Effect: "Allow",
    Action: action,
    Resource: arnOf(type, property, `stop-task-${stage}-${name}`),
  });
  /** Every queue an owner (worker, environment) makes for itself: `stop-task-<stage>-worker-*`, `-env-*`. */
  const ownersPattern = (part: string) => ({
    "Fn::Join": [
      "",
      [
        "arn:",
        { Ref: "AWS::Partition" },
        ":sqs:",
        { Ref: "AWS::Region" },
        ":",
        { Ref: "AWS::AccountId" },
        `:stop-task-${stage}-${part}-*`,
      ],
    ],
  });
  const onOwners = (action: string | string[], part: string) => ({
    Effect: "Allow",
    Action: action,
    Resource: ownersPattern(part),
  });
  // Keyed by function name: a function added to lib/resources.ts fails here until its policy is stated.
  const expectedStatements: Record<string, () => unknown[]> = {
    "stop-task": () => [
      logWrites("stop-task"),
      allow("dynamodb:UpdateItem", "AWS::DynamoDB::Table", "TableName", "executions"),
      allow("dynamodb:GetItem", "AWS::DynamoDB::Table", "TableName", "api-keys"),
      onOwners("sqs:SendMessage", "worker"),
      onOwners("sqs:SendMessage", "env"),
    ],
    "get-task": () => [
      logWrites("get-task"),
      allow("dynamodb:GetItem", "AWS::DynamoDB::Table", "TableName", "executions"),
      allow("dynamodb:GetItem", "AWS::DynamoDB::Table", "TableName", "api-keys"),
    ],
    cleanup: () => [
      logWrites("cleanup"),
      {
        Effect: "Allow",
        Action: "dynamodb:Query",
        // Every index but the organization index, which is the bulk stops' only.
        Resource: Object.values(executionIndexes)
          .filter((index) => index !== executionIndexes.activeByOrganization)
          .map((index) => ({
            "Fn::Join": [
              "",
              [
                arnOf("AWS::DynamoDB::Table", "TableName", `stop-task-${stage}-executions`),
                `/index/${index.indexName}`,
              ],
            ],
          })),
      },
      allow("dynamodb:UpdateItem", "AWS::DynamoDB::Table", "TableName", "executions"),
      onOwners("sqs:SendMessage", "worker"),
      onOwners("sqs:SendMessage", "env"),
      onOwners(["sqs:ListQueueTags", "sqs:GetQueueAttributes", "sqs:DeleteQueue"], "worker"),
      onOwners(["sqs:ListQueueTags", "sqs:GetQueueAttributes", "sqs:DeleteQueue"], "env"),
      // Where the sweep resumes in each channel: read at its start, written at its end.
      {
        Effect: "Allow",
        Action: ["dynamodb:GetItem", "dynamodb:PutItem"],
        Resource: arnOf("AWS::DynamoDB::Table", "TableName", `stop-task-${stage}-sweep-positions`),
      },
      { Effect: "Allow", Action: "sqs:ListQueues", Resource: "*" },
      allow("lambda:InvokeFunction", "AWS::Lambda::Function", "FunctionName", "stop-task"),
      // The duration guard: every organization's default limits, read whole once a run, and the
      // progress of a deadline rewrite recorded on the organization's item.
      {
        Effect: "Allow",
        Action: ["dynamodb:Scan", "dynamodb:UpdateItem"],
        Resource: arnOf("AWS::DynamoDB::Table", "TableName", `stop-task-${stage}-limits`),
      },
    ],
    "execution-stream": () => [
      logWrites("execution-stream"),
      // The stop core's conditional write and the cascade's cursor; one GetItem of a late child's parent.
      {
        Effect: "Allow",
        Action: ["dynamodb:UpdateItem", "dynamodb:GetItem"],
        Resource: arnOf("AWS::DynamoDB::Table", "TableName", `stop-task-${stage}-executions`),
      },
      onOwners("sqs:SendMessage", "worker"),
      onOwners("sqs:SendMessage", "env"),
      allow("events:PutEvents", "AWS::Events::EventBus", "Name", "task-events"),
      // The runaway guards: one GetItem of an organization's default limits.
      {
        Effect: "Allow",
        Action: "dynamodb:GetItem",
        Resource: arnOf("AWS::DynamoDB::Table", "TableName", `stop-task-${stage}-limits`),
      },
      // A task born during a hold: the holds in force of its organization, and the count of those it stopped.
      {
        Effect: "Allow",
        Action: "dynamodb:Query",
        Resource: {
          "Fn::Join": [
            "",
            [
              arnOf("AWS::DynamoDB::Table", "TableName", `stop-task-${stage}-bulk-stops`),
              "/index/holds-by-organization",
            ],
          ],
        },
      },
      allow("dynamodb:UpdateItem", "AWS::DynamoDB::Table", "TableName", "bulk-stops"),
      {
        Effect: "Allow",
        Action: ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
        Resource: {
          "Fn::GetAtt": [
            logicalIdWhere(template, "AWS::DynamoDB::Table", "TableName", `stop-task-${stage}-executions`),
            "StreamArn",
          ],
        },
      },
      listStreams,
      allow("sqs:SendMessage", "AWS::SQS::Queue", "QueueName", "execution-stream-failures"),
    ],
    "bulk-stop": () => [
      logWrites("bulk-stop"),
      // Its tasks, by the organization index only, each stopped with the stop's own conditional write.
      {
        Effect: "Allow",
        Action: "dynamodb:Query",
        Resource: {
          "Fn::Join": [
            "",
            [
              arnOf("AWS::DynamoDB::Table", "TableName", `stop-task-${stage}-executions`),
              `/index/${executionIndexes.activeByOrganization.indexName}`,
            ],
          ],
        },
      },
      allow("dynamodb:UpdateItem", "AWS::DynamoDB::Table", "TableName", "executions"),
      allow("dynamodb:GetItem", "AWS::DynamoDB::Table", "TableName", "api-keys"),
      onOwners("sqs:SendMessage", "worker"),
      onOwners("sqs:SendMessage", "env"),
      // Its bulk stops and their Idempotency-Keys (a transaction of two Puts is authorized as PutItem).
      {
        Effect: "Allow",
        Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
        Resource: arnOf("AWS::DynamoDB::Table", "TableName", `stop-task-${stage}-bulk-stops`),
      },
      // Its runs and their continuations, sent by URL.
      {
        Effect: "Allow",
        Action: "sqs:SendMessage",
        Resource: arnOf("AWS::SQS::Queue", "QueueName", `stop-task-${stage}-bulk-stop-jobs`),
      },
      // The SQS event source's receive side, which Lambda uses with this role (docs/deploy.md): the three actions of
      // AWS's own AWSLambdaSQSQueueExecutionRole, nothing more.
      {
        Effect: "Allow",
        Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
        Resource: arnOf("AWS::SQS::Queue", "QueueName", `stop-task-${stage}-bulk-stop-jobs`),
      },
      allow("events:PutEvents", "AWS::Events::EventBus", "Name", "task-events"),
    ],
  };
  /** The one Allow on "*" in the stack: ListStreams accepts no resource, and returns stream ARNs, no data. */
  const listStreams = { Effect: "Allow", Action: "dynamodb:ListStreams", Resource: "*" };
  const isListStreams = (statement: Statement) =>
    statement.Effect === listStreams.Effect &&
    statement.Action === listStreams.Action &&
    statement.Resource === listStreams.Resource &&
    !statement.Condition;

  const roleDescription = (name: string) =>
    `stop-task-${stage}-${name}: writes its own log group; tables and queues grant the rest`;

  it.each(Object.keys(functionDefinitions))("allows %s exactly the statements it needs", (name) => {
    const roleId = logicalIdWhere(template, "AWS::IAM::Role", "Description", roleDescription(name));
    const policies = Object.values(resources).filter(
      (resource) =>
        resource.Type === "AWS::IAM::Policy" &&
        JSON.stringify(resource.Properties?.Roles) === JSON.stringify([{ Ref: roleId }]),
    );

    expect(policies).toHaveLength(1);
    const expected = expectedStatements[name];
    expect(expected, `no expected statements for ${name} in this test`).toBeDefined();
    expect(policies[0]?.Properties?.PolicyDocument).toEqual({ Version: "2012-10-17", Statement: expected?.() });
  });

  it("writes no identity policy besides the functions' own and the two owner policies, attached to nothing here", () => {
    template.resourceCountIs("AWS::IAM::Policy", Object.keys(functionDefinitions).length);
    const managed = Object.values(template.findResources("AWS::IAM::ManagedPolicy"));
    expect(managed.map((policy) => policy.Properties.ManagedPolicyName).sort()).toEqual([
      `stop-task-${stage}-env-signal-queue-owner`,
      `stop-task-${stage}-worker-signal-queue-owner`,
    ]);
    for (const policy of managed)
      expect(policy.Properties.Roles ?? policy.Properties.Users ?? policy.Properties.Groups).toBeUndefined();
  });

  it.each(Object.keys(functionDefinitions))("gives the role of %s nothing besides that policy", (name) => {
    const roleId = logicalIdWhere(template, "AWS::IAM::Role", "Description", roleDescription(name));
    expect(resources[roleId]?.Properties).toEqual({
      Description: roleDescription(name),
      AssumeRolePolicyDocument: {
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Principal: { Service: "lambda.amazonaws.com" } }],
      },
    });
  });

  it(
    "writes no Allow statement with a wildcard action, and allows a wildcard resource only as " +
      "the owners' queue patterns, for ListQueues and for the stream processor's ListStreams",
    () => {
      expect(allStatements(resources).filter(({ statement }) => isListStreams(statement))).toHaveLength(1);
      const allows = allStatements(resources).filter(
        ({ statement }) => statement.Effect === "Allow" && !isListStreams(statement),
      );
      expect(allows.length).toBeGreaterThan(0);
      const ownerPatterns = [`:stop-task-${stage}-worker-*`, `:stop-task-${stage}-env-*`];
      for (const { owner, statement } of allows) {
        expect(
          literals(statement.Action).filter((action) => action.includes("*")),
          owner,
        ).toEqual([]);
        if (statement.Resource === "*") {
          // IAM allows ListQueues on `*` only (it has no resource type); it names queues, nothing of their contents.
          expect(statement.Action, owner).toBe("sqs:ListQueues");
          continue;
        }
        for (const wildcard of literals(statement.Resource).filter((resource) => resource.includes("*"))) {
          expect(ownerPatterns, owner).toContain(wildcard);
          expect(
            literals(statement.Action).every((action) => action.startsWith("sqs:")),
            owner,
          ).toBe(true);
        }
      }
      const listQueues = allows.filter(({ statement }) => literals(statement.Action).includes("sqs:ListQueues"));
      const cleanupRoleId = logicalIdWhere(template, "AWS::IAM::Role", "Description", roleDescription("cleanup"));
      expect(listQueues.map(({ owner }) => resources[owner]?.Properties?.Roles)).toEqual([[{ Ref: cleanupRoleId }]]);
    },
  );

  it("lets only the cleanup delete a queue, and only an owner's", () => {
    const deletes = allStatements(resources).filter(({ statement }) =>
      literals(statement.Action).includes("sqs:DeleteQueue"),
    );
    const cleanupRoleId = logicalIdWhere(template, "AWS::IAM::Role", "Description", roleDescription("cleanup"));
    expect(deletes).toHaveLength(2);
    for (const { owner, statement } of deletes) {
      expect(resources[owner]?.Properties?.Roles).toEqual([{ Ref: cleanupRoleId }]);
      expect([ownersPattern("worker"), ownersPattern("env")]).toContainEqual(statement.Resource);
    }
  });

  it("uses a wildcard principal only to deny plain-HTTP requests to the queues and the alarm topic", () => {
    const wildcardPrincipals = allStatements(resources).filter(({ statement }) =>
      literals(statement.Principal).some((literal) => literal.includes("*")),
    );
    for (const { owner, statement } of wildcardPrincipals) {
      expect(statement.Effect, owner).toBe("Deny");
      expect(statement.Condition, owner).toEqual({ Bool: { "aws:SecureTransport": "false" } });
    }
    // The alarm topic, and each queue of the stack's: the two channels' DLQs, the stream's failure
    // queue, the bulk stops' jobs queue and its DLQ, and the example task-events queue and its DLQ
    // where the stage has one.
    expect(wildcardPrincipals.map(({ owner }) => resources[owner]?.Type).sort()).toEqual([
      "AWS::SNS::TopicPolicy",
      ...Array.from({ length: exampleOrganization ? 7 : 5 }, () => "AWS::SQS::QueuePolicy"),
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
        {
          "Fn::Join": [
            "",
            ["arn:", { Ref: "AWS::Partition" }, ":iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"],
          ],
        },
      ],
    });
    // One per account and region, shared with every API there: never deleted with this stack.
    expect(withManagedPolicies[0]?.DeletionPolicy).toBe("Retain");
  });

  it("grants lambda:InvokeFunction to the cleanup only, and on the stop function only", () => {
    const invokes = allStatements(resources).filter(({ statement }) =>
      literals(statement.Action).some((action) => action.startsWith("lambda:")),
    );
    const cleanupRoleId = logicalIdWhere(template, "AWS::IAM::Role", "Description", roleDescription("cleanup"));

    expect(invokes).toHaveLength(1);
    expect(resources[invokes[0]?.owner ?? ""]?.Properties?.Roles).toEqual([{ Ref: cleanupRoleId }]);
    expect(invokes[0]?.statement.Resource).toEqual(
      arnOf("AWS::Lambda::Function", "FunctionName", `stop-task-${stage}-stop-task`),
    );
  });

  it("queries the executions table only through its sparse indexes, never the table itself or a Scan", () => {
    const dynamoActions = allStatements(resources)
      .flatMap(({ statement }) => literals(statement.Action))
      .filter((action) => action.startsWith("dynamodb:"));
    // The one Scan is of the small limits table (the cleanup's duration guard), never of the executions table.
    const scans = allStatements(resources).filter(({ statement }) =>
      literals(statement.Action).includes("dynamodb:Scan"),
    );
    expect(scans.map(({ statement }) => statement.Resource)).toEqual([
      arnOf("AWS::DynamoDB::Table", "TableName", `stop-task-${stage}-limits`),
    ]);
    expect(new Set(dynamoActions)).toEqual(
      new Set([
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "dynamodb:Query",
        "dynamodb:Scan",
        // The sweep's resume positions, in a table of their own (the cleanup's statements above).
        "dynamodb:PutItem",
        // The stream processor reads the stream (test/infra/execution-stream.test.ts).
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
      ]),
    );
  });

  it("lets only EventBridge, only from the example rule, send to the task-events queue and its DLQ", () => {
    if (!exampleOrganization) {
      template.resourceCountIs("AWS::Events::Rule", 2); // the cleanup's two schedules only
      return;
    }
    const ruleId = logicalIdWhere(
      template,
      "AWS::Events::Rule",
      "Name",
      `stop-task-${stage}-${exampleOrganization}-task-events`,
    );
    const fromEvents = allStatements(resources).filter(({ statement }) =>
      JSON.stringify(statement.Principal ?? "").includes("events.amazonaws.com"),
    );
    expect(
      fromEvents
        .map(({ statement }) => statement.Resource)
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    ).toEqual(
      [
        arnOf("AWS::SQS::Queue", "QueueName", `stop-task-${stage}-task-events`),
        arnOf("AWS::SQS::Queue", "QueueName", `stop-task-${stage}-task-events-dlq`),
      ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
    for (const { statement } of fromEvents) {
      expect(statement).toMatchObject({
        Effect: "Allow",
        Action: "sqs:SendMessage",
        Condition: { ArnEquals: { "aws:SourceArn": { "Fn::GetAtt": [ruleId, "Arn"] } } },
      });
    }
  });

  it("lets EventBridge invoke only the cleanup, only from its two schedules", () => {
    const fromEvents = Object.values(template.findResources("AWS::Lambda::Permission")).filter(
      (permission) => permission.Properties.Principal === "events.amazonaws.com",
    );
    const cleanupId = logicalIdWhere(template, "AWS::Lambda::Function", "FunctionName", `stop-task-${stage}-cleanup`);
    const ruleIds = [`stop-task-${stage}-cleanup-schedule`, `stop-task-${stage}-signal-queue-sweep-schedule`].map(
      (name) => logicalIdWhere(template, "AWS::Events::Rule", "Name", name),
    );

    expect(fromEvents.map((permission) => permission.Properties)).toEqual(
      ruleIds.map((ruleId) => ({
        Action: "lambda:InvokeFunction",
        FunctionName: { "Fn::GetAtt": [cleanupId, "Arn"] },
        Principal: "events.amazonaws.com",
        SourceArn: { "Fn::GetAtt": [ruleId, "Arn"] },
      })),
    );
  });

  it("lets only API Gateway invoke each route's function, only through its own route of this API", () => {
    const permissions = Object.values(template.findResources("AWS::Lambda::Permission")).filter(
      (permission) => permission.Properties.Principal !== "events.amazonaws.com",
    );
    expect(permissions).toHaveLength(routes.length);
    for (const route of routes) {
      const functionId = logicalIdWhere(
        template,
        "AWS::Lambda::Function",
        "FunctionName",
        `stop-task-${stage}-${route.functionName}`,
      );
      const sourceArnSuffix = `/${route.method}${route.path.replace(/\{[^}]+\}/g, "*")}`;
      const matching = permissions.filter(
        (permission) =>
          JSON.stringify(permission.Properties.FunctionName) ===
            JSON.stringify({ "Fn::GetAtt": [functionId, "Arn"] }) &&
          literals(permission.Properties.SourceArn).join("").endsWith(sourceArnSuffix),
      );
      expect(matching, `${route.method} ${route.path}`).toHaveLength(1);
      expect(matching[0]?.Properties).toMatchObject({
        Action: "lambda:InvokeFunction",
        Principal: "apigateway.amazonaws.com",
      });
    }
  });
});
