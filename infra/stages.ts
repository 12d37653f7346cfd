import { RetentionDays } from "aws-cdk-lib/aws-logs";

/**
 * What differs between deployments of the same stack. Adding a stage is one entry here; an
 * unknown `-c stage=...` fails the synth instead of quietly deploying with someone's defaults.
 */
export interface StageSettings {
  /** prod keeps its data: RETAIN, deletion protection and point-in-time recovery on the tables. */
  readonly retainData: boolean;
  /** Stage-wide API Gateway throttling, per second (steady rate) and in one burst. */
  readonly throttling: { readonly rateLimit: number; readonly burstLimit: number };
  readonly logRetention: RetentionDays;
  readonly apiTracing: boolean;
}

export const stageSettings = {
  dev: {
    retainData: false,
    throttling: { rateLimit: 10, burstLimit: 20 },
    logRetention: RetentionDays.ONE_WEEK,
    apiTracing: false,
  },
  prod: {
    retainData: true,
    throttling: { rateLimit: 100, burstLimit: 200 },
    logRetention: RetentionDays.THREE_MONTHS,
    apiTracing: true,
  },
} as const satisfies Record<string, StageSettings>;

export type StageName = keyof typeof stageSettings;

export function isStageName(value: unknown): value is StageName {
  return typeof value === "string" && Object.hasOwn(stageSettings, value);
}

/** The `stage` context value (`-c stage=dev`); dev when absent. */
export function parseStage(value: unknown): StageName {
  const stage = value ?? "dev";
  if (!isStageName(stage)) {
    throw new Error(`unknown stage ${JSON.stringify(stage)}: expected one of ${Object.keys(stageSettings).join(", ")}`);
  }
  return stage;
}

/** Every physical name of a stage starts with this: `stop-task-dev-executions`. */
export function resourcePrefix(stage: StageName): string {
  return `stop-task-${stage}`;
}
