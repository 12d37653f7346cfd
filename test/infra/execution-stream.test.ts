import { describe, expect, it } from "vitest";
import { executionStreamProcessing, taskEventsQueue } from "../../lib/resources.js";
import { TASK_EVENT_SOURCE } from "../../lib/task-events.js";
import { type CfnResource, logicalIdWhere, onlyResource, synthesizeStage } from "./synth.js";

describe("the executions table's stream and its processor", () => {
  const { template } = synthesizeStage("dev");
  const resources = template.toJSON().Resources as Record<string, CfnResource>;
  /** The mapping that reads the table's stream (the bulk stop function has one on its jobs queue). */
  const streamMapping = () => {
    const mappings = Object.values(template.findResources("AWS::Lambda::EventSourceMapping")) as CfnResource[];
    const onStream = mappings.filter((mapping) =>
      JSON.stringify(mapping.Properties?.EventSourceArn).includes("StreamArn"),
    );
    expect(onStream).toHaveLength(1);
    return onStream[0] as CfnResource;
  };
  const tableId = logicalIdWhere(template, "AWS::DynamoDB::Table", "TableName", "stop-task-dev-executions");
  const functionId = logicalIdWhere(
    template,
    "AWS::Lambda::Function",
    "FunctionName",
    "stop-task-dev-execution-stream",
  );
  const failureQueueId = logicalIdWhere(
    template,
    "AWS::SQS::Queue",
    "QueueName",
    `stop-task-dev-${executionStreamProcessing.failureQueue.logicalName}`,
  );

  it("streams both images of every change of the executions table, and of no other table", () => {
    expect(resources[tableId]?.Properties?.StreamSpecification).toEqual({ StreamViewType: "NEW_AND_OLD_IMAGES" });
    const streamed = Object.values(template.findResources("AWS::DynamoDB::Table")).filter(
      (table) => table.Properties.StreamSpecification,
    );
    expect(streamed).toHaveLength(1);
  });

  it("feeds the processor from the stream: partial batch failures, bisect on error, bounded retries, an on-failure queue", () => {
    const resource = streamMapping();
    expect(resource.Properties).toEqual({
      EventSourceArn: { "Fn::GetAtt": [tableId, "StreamArn"] },
      FunctionName: { Ref: functionId },
      StartingPosition: "TRIM_HORIZON",
      BatchSize: executionStreamProcessing.batchSize,
      ParallelizationFactor: executionStreamProcessing.parallelizationFactor,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      MaximumRetryAttempts: executionStreamProcessing.maxRetryAttempts,
      MaximumRecordAgeInSeconds: executionStreamProcessing.maxRecordAgeSeconds,
      DestinationConfig: { OnFailure: { Destination: { "Fn::GetAtt": [failureQueueId, "Arn"] } } },
      FilterCriteria: {
        Filters: executionStreamProcessing.filterPatterns.map((pattern) => ({ Pattern: JSON.stringify(pattern) })),
      },
    });
  });

  it(
    "filters to the records the processor acts on: changes of stopped records, new " +
      "records naming a parent, running records with usage or limits of their own, or a start and no deadline yet",
    () => {
      const running = { S: ["pending", "executing", "paused", "error"] };
      expect(executionStreamProcessing.filterPatterns).toEqual([
        { dynamodb: { NewImage: { status: { S: ["stopped"] } } } },
        { eventName: ["INSERT"], dynamodb: { NewImage: { parent_execution: { S: [{ exists: true }] } } } },
        { dynamodb: { NewImage: { status: running, tokens: { M: { prompt_tokens: { N: [{ exists: true }] } } } } } },
        {
          dynamodb: { NewImage: { status: running, tokens: { M: { completion_tokens: { N: [{ exists: true }] } } } } },
        },
        { dynamodb: { NewImage: { status: running, duration: { N: [{ exists: true }] } } } },
        { dynamodb: { NewImage: { status: running, used_tools: { L: { S: [{ exists: true }] } } } } },
        { dynamodb: { NewImage: { status: running, limits_set_at: { S: [{ exists: true }] } } } },
        {
          dynamodb: {
            NewImage: {
              status: running,
              idx_active_since: { S: [{ exists: true }] },
              idx_deadline_at: { S: [{ exists: false }] },
            },
          },
        },
        { dynamodb: { NewImage: { status: running, idx_org_shard: { S: [{ exists: false }] } } } },
        {
          dynamodb: { NewImage: { status: { S: ["completed", "failed"] }, idx_org_shard: { S: [{ exists: true }] } } },
        },
      ]);
      // Lambda raises the filters of one mapping to ten on request, and no further.
      expect(executionStreamProcessing.filterPatterns.length).toBeLessThanOrEqual(10);
    },
  );

  it("creates the mapping only once the role may read the stream", () => {
    const resource = streamMapping();
    const roleId = logicalIdWhere(
      template,
      "AWS::IAM::Role",
      "Description",
      "stop-task-dev-execution-stream: writes its own log group; tables and queues grant the rest",
    );
    const dependsOn = (resource as CfnResource & { DependsOn?: string[] }).DependsOn ?? [];
    expect(dependsOn).toEqual(expect.arrayContaining([roleId]));
    expect(dependsOn.some((id) => resources[id]?.Type === "AWS::IAM::Policy")).toBe(true);
  });
});

describe("the task events bus", () => {
  const { template } = synthesizeStage("dev");
  const resources = template.toJSON().Resources as Record<string, CfnResource>;

  it("is a bus of the stack's own", () => {
    const { resource } = onlyResource(template, "AWS::Events::EventBus");
    expect(resource.Properties).toMatchObject({ Name: "stop-task-dev-task-events" });
  });

  it("has an example rule that routes one organization's events to the task-events queue, failed deliveries to its DLQ", () => {
    const busId = logicalIdWhere(template, "AWS::Events::EventBus", "Name", "stop-task-dev-task-events");
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
    const ruleId = logicalIdWhere(template, "AWS::Events::Rule", "Name", "stop-task-dev-org-demo-task-events");
    expect(resources[ruleId]?.Properties).toMatchObject({
      EventBusName: { Ref: busId },
      EventPattern: { source: [TASK_EVENT_SOURCE], detail: { organization_id: ["org-demo"] } },
      Targets: [
        {
          Arn: { "Fn::GetAtt": [queueId, "Arn"] },
          DeadLetterConfig: { Arn: { "Fn::GetAtt": [dlqId, "Arn"] } },
          RetryPolicy: { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 86_400 },
        },
      ],
    });
  });

  it("routes another organization with -c taskEventsOrganization, and none by default in prod", () => {
    const prod = synthesizeStage("prod").template;
    expect(Object.values(prod.findResources("AWS::Events::Rule")).map((rule) => rule.Properties.Name)).toEqual([
      "stop-task-prod-cleanup-schedule",
      "stop-task-prod-signal-queue-sweep-schedule",
    ]);
    prod.resourceCountIs("AWS::Events::EventBus", 1);
  });

  it("names the bus in the outputs", () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.TaskEventBusName?.Value).toEqual({
      Ref: logicalIdWhere(template, "AWS::Events::EventBus", "Name", "stop-task-dev-task-events"),
    });
    expect(outputs.TaskEventsQueueUrl?.Value).toEqual({
      Ref: logicalIdWhere(template, "AWS::SQS::Queue", "QueueName", "stop-task-dev-task-events"),
    });
  });
});
