import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as sns from "aws-cdk-lib/aws-sns";
import { describe, expect, it } from "vitest";
import { stageSettings } from "../../infra/stages.js";
import { StopTaskStack } from "../../infra/stop-task-stack.js";
import { createMetrics, MetricUnit } from "../../lib/observability.js";
import {
  executionStreamProcessing,
  functionDefinitions,
  signalChannels,
  taskEventsQueue,
} from "../../lib/resources.js";
import { type CfnResource, logicalIdWhere, onlyResource, synthesizeStage } from "./synth.js";

describe("alarms", () => {
  const { template } = synthesizeStage("dev");
  const alarms = Object.values(template.findResources("AWS::CloudWatch::Alarm")) as CfnResource[];
  const { logicalId: topicId } = onlyResource(template, "AWS::SNS::Topic");
  const alarmNamed = (name: string) =>
    alarms.find((alarm) => alarm.Properties?.AlarmName === `stop-task-dev-${name}`)?.Properties;

  it("notifies the alarm topic of every alarm and of its recovery", () => {
    // API 5xx, errors and throttles of each function, each signal DLQ, undeliverable stop signals,
    // the stream's failure queue and iterator age, the example task-events queue's DLQ, and the bulk stop jobs' DLQ.
    expect(alarms).toHaveLength(
      1 + 2 * Object.keys(functionDefinitions).length + Object.keys(signalChannels).length + 1 + 2 + 1 + 1,
    );
    for (const alarm of alarms) {
      expect(alarm.Properties?.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.Properties?.OKActions).toEqual([{ Ref: topicId }]);
      expect(alarm.Properties?.TreatMissingData).toBe("notBreaching");
    }
  });

  it("creates the topic with publishing over TLS only", () => {
    template.hasResourceProperties("AWS::SNS::Topic", { TopicName: "stop-task-dev-alarms" });
    template.hasResourceProperties("AWS::SNS::TopicPolicy", {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: [{ Effect: "Deny", Action: "sns:Publish", Condition: { Bool: { "aws:SecureTransport": "false" } } }],
      },
    });
  });

  it("alarms on the API's 5xx rate", () => {
    expect(alarmNamed("api-server-error-rate")).toMatchObject({
      Namespace: "AWS/ApiGateway",
      MetricName: "5XXError",
      Dimensions: [{ Name: "ApiName", Value: "stop-task-dev-api" }],
      Statistic: "Average",
      Period: 300,
      ComparisonOperator: "GreaterThanThreshold",
      Threshold: 0.05,
    });
  });

  it.each(Object.keys(functionDefinitions))("alarms on any error or throttle of the %s function", (name) => {
    const functionId = logicalIdWhere(template, "AWS::Lambda::Function", "FunctionName", `stop-task-dev-${name}`);
    for (const [alarmName, metric] of [
      [`${name}-function-errors`, "Errors"],
      [`${name}-function-throttles`, "Throttles"],
    ] as const) {
      expect(alarmNamed(alarmName)).toMatchObject({
        Namespace: "AWS/Lambda",
        MetricName: metric,
        Dimensions: [{ Name: "FunctionName", Value: { Ref: functionId } }],
        Statistic: "Sum",
        Period: 300,
        ComparisonOperator: "GreaterThanThreshold",
        Threshold: 0,
        EvaluationPeriods: 1,
      });
    }
  });

  it("alarms on a single stop signal the cleanup flagged undeliverable, in the metric Powertools writes", () => {
    // What the cleanup's Metrics instance actually emits (EMF): namespace, dimension set and values.
    const metrics = createMetrics("cleanup");
    metrics.addMetric("SignalDeliveryFailed", MetricUnit.Count, 1);
    const emf = metrics.serializeMetrics() as unknown as Record<string, unknown> & {
      _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] };
    };
    const [directive] = emf._aws.CloudWatchMetrics;
    const emitted = (directive?.Dimensions[0] ?? []).map((name) => ({ Name: name, Value: emf[name] }));
    expect(emitted.map(({ Name }) => Name).sort()).toEqual(["function", "service"]);

    const alarm = alarmNamed("signal-delivery-failed");
    expect(alarm).toMatchObject({
      Namespace: directive?.Namespace,
      MetricName: "SignalDeliveryFailed",
      Statistic: "Sum",
      Period: 300,
      EvaluationPeriods: 1,
      ComparisonOperator: "GreaterThanThreshold",
      Threshold: 0,
      TreatMissingData: "notBreaching",
    });
    const byName = (a: { Name: string }, b: { Name: string }) => a.Name.localeCompare(b.Name);
    const dimensions = (alarm?.Dimensions ?? []) as { Name: string }[];
    expect([...dimensions].sort(byName)).toEqual(emitted.sort(byName));
  });

  it.each([
    ["stop-signals-dlq-messages", signalChannels.workers.deadLetter.logicalName],
    ["asset-commands-dlq-messages", signalChannels.environments.deadLetter.logicalName],
    ["execution-stream-failures-messages", executionStreamProcessing.failureQueue.logicalName],
    ["task-events-dlq-messages", taskEventsQueue.deadLetter.logicalName],
  ])("alarms when %s shows a single visible message", (alarmName, dlqName) => {
    const dlqId = logicalIdWhere(template, "AWS::SQS::Queue", "QueueName", `stop-task-dev-${dlqName}`);
    expect(alarmNamed(alarmName)).toMatchObject({
      Namespace: "AWS/SQS",
      MetricName: "ApproximateNumberOfMessagesVisible",
      Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [dlqId, "QueueName"] } }],
      Statistic: "Maximum",
      ComparisonOperator: "GreaterThanThreshold",
      Threshold: 0,
    });
  });

  it("alarms when the stream processor is more than five minutes behind the executions table's stream", () => {
    const functionId = logicalIdWhere(
      template,
      "AWS::Lambda::Function",
      "FunctionName",
      "stop-task-dev-execution-stream",
    );
    expect(alarmNamed("execution-stream-function-iterator-age")).toMatchObject({
      Namespace: "AWS/Lambda",
      MetricName: "IteratorAge",
      Dimensions: [{ Name: "FunctionName", Value: { Ref: functionId } }],
      Statistic: "Maximum",
      Period: 300,
      ComparisonOperator: "GreaterThanThreshold",
      Threshold: 5 * 60 * 1000,
    });
  });

  it("sends to a topic passed as a prop instead of creating one", () => {
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
    const shared = new Stack(app, "shared");
    const topic = new sns.Topic(shared, "OnCall");
    const stack = new StopTaskStack(app, "with-topic", { stage: "dev", ...stageSettings.dev, alarmTopic: topic });
    const withTopic = Template.fromStack(stack);

    withTopic.resourceCountIs("AWS::SNS::Topic", 0);
    for (const alarm of Object.values(withTopic.findResources("AWS::CloudWatch::Alarm"))) {
      expect(alarm.Properties.AlarmActions).toEqual([{ "Fn::ImportValue": expect.stringContaining("OnCall") }]);
    }
  });
});
