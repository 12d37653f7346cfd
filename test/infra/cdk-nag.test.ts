import { App, Stack, Validations } from "aws-cdk-lib";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { describe, expect, it } from "vitest";
import { defineStopTaskApp } from "../../infra/stop-task-app.js";
import { functionDefinitions } from "../../lib/resources.js";
import { synthesizeStage } from "./synth.js";

/** `stop-task` -> `StopTask`, the construct id the stack gives each function. */
const functionConstructIds = Object.keys(functionDefinitions).map((name) =>
  name.replace(/(^|-)([a-z])/g, (_match, _dash, letter: string) => letter.toUpperCase()),
);

/** Every finding AwsSolutions reports that no acknowledgement covers (warnings fail `cdk synth` too). */
function unacknowledgedFindings(scope: IConstruct) {
  return new AwsSolutionsChecks().validateScope(scope).violations.map((violation) => ({
    rule: violation.ruleName,
    severity: violation.severity,
    resources: violation.violatingResources.map((resource) => resource.constructPath),
  }));
}

/** Acknowledged rule ids with the construct they sit on and the reason written beside them. */
function acknowledgements(scope: IConstruct) {
  return scope.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string | { reason: string }>).map(([id, value]) => ({
          id: id.replace(/^annotation::/i, ""),
          path: construct.node.path,
          reason: typeof value === "string" ? value : value.reason,
        })),
      ),
  );
}

/**
 * The IAM5 acknowledgements of the owners' queue patterns: on each function that sends to (or sweeps) them. The owner
 * policies have none to acknowledge: each owner reaches its own queue only, named by its principal tag.
 */
function ownerPatternAcknowledgements(stage: string): string[] {
  const pattern = (part: string) =>
    `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sqs:<AWS::Region>:<AWS::AccountId>:stop-task-${stage}-${part}-*]`;
  return [
    ...["worker", "env"].flatMap((part) => [
      [part, "StopTask/Role"],
      [part, "Cleanup/Role"],
      [part, "ExecutionStream/Role"],
      [part, "BulkStop/Role"],
    ]),
  ].map(([part, path]) => `${pattern(part ?? "")} @ stop-task-${stage}/${path}`);
}

describe("AWS Solutions checks (cdk-nag)", () => {
  it.each(["dev", "prod"] as const)("reports no unacknowledged finding for %s", (stage) => {
    const { app } = synthesizeStage(stage);
    expect(unacknowledgedFindings(app)).toEqual([]);
  });

  it("would report findings on a careless stack, so the check above is not vacuous", () => {
    const app = new App();
    new sqs.Queue(new Stack(app, "careless"), "Queue", { encryption: sqs.QueueEncryption.UNENCRYPTED });
    expect(unacknowledgedFindings(app).map((finding) => finding.rule)).toEqual(
      expect.arrayContaining(["AwsSolutions-SQS2", "AwsSolutions-SQS3", "AwsSolutions-SQS4"]),
    );
  });

  it("acknowledges only these rules, each on the construct it concerns and with a reason", () => {
    const dev = acknowledgements(synthesizeStage("dev").app);
    expect(dev.map(({ id, path }) => `${id} @ ${path}`).sort()).toEqual(
      [
        "AwsSolutions-APIG3 @ stop-task-dev/Api/RestApi",
        "AwsSolutions-APIG4 @ stop-task-dev/Api/RestApi",
        "AwsSolutions-COG4 @ stop-task-dev/Api/RestApi",
        "AwsSolutions-DDB3 @ stop-task-dev/ApiKeysTable/Table",
        "AwsSolutions-DDB3 @ stop-task-dev/BulkStopsTable/Table",
        "AwsSolutions-DDB3 @ stop-task-dev/ExecutionsTable/Table",
        "AwsSolutions-DDB3 @ stop-task-dev/LimitsTable/Table",
        "AwsSolutions-DDB3 @ stop-task-dev/SweepPositionsTable/Table",
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs] " +
          "@ stop-task-dev/Api/RestApi",
        ...functionConstructIds.map((id) => `AwsSolutions-L1 @ stop-task-dev/${id}/Function`),
        // The owners' queue patterns (each worker or environment makes its own queue), where they are granted.
        ...ownerPatternAcknowledgements("dev"),
        "AwsSolutions-IAM5[Resource::*] @ stop-task-dev/Cleanup/Role",
        // The channels' DLQs: the owners' queues redrive to them, a link CloudFormation never sees.
        "AwsSolutions-SQS3 @ stop-task-dev/AssetCommands/DeadLetterQueue",
        "AwsSolutions-SQS3 @ stop-task-dev/StopSignals/DeadLetterQueue",
        // dynamodb:ListStreams takes no resource; only that finding, on the stream processor's role.
        "AwsSolutions-IAM5[Resource::*] @ stop-task-dev/ExecutionStream/Role",
        // The event source mapping's on-failure queue is itself a dead-letter destination.
        "AwsSolutions-SQS3 @ stop-task-dev/ExecutionStreamSource/FailureQueue",
      ].sort(),
    );
    for (const { id, reason } of dev) expect(reason.length, id).toBeGreaterThan(40);
  });

  it("keeps point-in-time recovery unacknowledged in prod: it is on there", () => {
    const prod = acknowledgements(synthesizeStage("prod").app).map(({ id }) => id);
    expect(prod).not.toContain("AwsSolutions-DDB3");
    expect(prod).toHaveLength(
      4 + functionConstructIds.length + ownerPatternAcknowledgements("prod").length + 1 + 2 + 2,
    );
  });

  it("runs the checks on every synth of the app: clean for the stack as it is", () => {
    const { app } = synthesizeStage("prod");
    expect(() => app.synth()).not.toThrow();
  });

  it("runs the checks on every synth of the app: a finding fails the synth", () => {
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
    const stack = defineStopTaskApp(app);
    new sqs.Queue(stack, "Careless", { encryption: sqs.QueueEncryption.UNENCRYPTED });
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS2/);
  });
});
