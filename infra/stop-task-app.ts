import type { App } from "aws-cdk-lib";
import { Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { parseStage, resourcePrefix, stageSettings } from "./stages.js";
import { StopTaskStack } from "./stop-task-stack.js";

/**
 * The app's composition: the stage from `-c stage=...`, its stack, and AWS's own rules
 * (cdk-nag AwsSolutions) checked on every synth, so a violation fails `cdk synth` itself.
 */
export function defineStopTaskApp(app: App): StopTaskStack {
  const stage = parseStage(app.node.tryGetContext("stage"));
  const stack = new StopTaskStack(app, resourcePrefix(stage), {
    stage,
    ...stageSettings[stage],
    // `-c taskEventsOrganization=ORG` routes that organization's task events to the example queue.
    ...taskEventsOrganization(app.node.tryGetContext("taskEventsOrganization")),
    description: `Stop Task endpoint (${stage})`,
    // No CDKMetadata resource: nothing about this stack is reported to AWS beyond the deploy itself.
    analyticsReporting: false,
    // No env: environment-agnostic (no lookups), so the template is the same on a laptop, in
    // CI and at deploy time, and lands in the account and region of the deploying credentials.
    tags: { service: "stop-task", stage },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}

function taskEventsOrganization(value: unknown): { taskEventsOrganization?: string } {
  if (value === undefined) return {};
  if (typeof value !== "string" || value === "")
    throw new Error("-c taskEventsOrganization=... must name an organization");
  return { taskEventsOrganization: value };
}
