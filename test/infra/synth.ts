import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { StageName } from "../../infra/stages.js";
import { defineStopTaskApp } from "../../infra/stop-task-app.js";
import type { StopTaskStack } from "../../infra/stop-task-stack.js";

export interface SynthesizedStage {
  readonly app: App;
  readonly stack: StopTaskStack;
  readonly template: Template;
}

/** The app exactly as `cdk synth -c stage=...` builds it, minus the esbuild step (fast). */
export function synthesizeStage(stage: StageName, options: { bundle?: boolean } = {}): SynthesizedStage {
  const app = new App({
    context: { stage, ...(options.bundle ? {} : { "aws:cdk:bundling-stacks": [] }) },
  });
  const stack = defineStopTaskApp(app);
  return { app, stack, template: Template.fromStack(stack) };
}

export type CfnResource = { Type: string; Properties?: Record<string, unknown>; DeletionPolicy?: string };

/** The one resource of a type, failing when there are none or several. */
export function onlyResource(template: Template, type: string): { logicalId: string; resource: CfnResource } {
  const found = Object.entries(template.findResources(type)) as [string, CfnResource][];
  if (found.length !== 1) throw new Error(`expected exactly one ${type}, found ${found.length}`);
  const [logicalId, resource] = found[0] as [string, CfnResource];
  return { logicalId, resource };
}

/** Logical id of the resource of `type` whose property `name` equals `value`. */
export function logicalIdWhere(template: Template, type: string, name: string, value: unknown): string {
  const matches = Object.entries(template.findResources(type)).filter(
    ([, resource]) => JSON.stringify((resource as CfnResource).Properties?.[name]) === JSON.stringify(value),
  );
  if (matches.length !== 1)
    throw new Error(`expected one ${type} with ${name}=${JSON.stringify(value)}, found ${matches.length}`);
  return (matches[0] as [string, unknown])[0];
}
