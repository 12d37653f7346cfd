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
  /** The example rule's organization: its task events go to the stack's task-events queue (none when absent). */
  readonly taskEventsOrganization?: string;
}

/** The deployable stages: `-c stage=dev` or `-c stage=prod`. */
const deployedStages = {
  dev: {
    retainData: false,
    throttling: { rateLimit: 10, burstLimit: 20 },
    logRetention: RetentionDays.ONE_WEEK,
    apiTracing: false,
    taskEventsOrganization: "org-demo",
  },
  prod: {
    retainData: true,
    throttling: { rateLimit: 100, burstLimit: 200 },
    logRetention: RetentionDays.THREE_MONTHS,
    apiTracing: true,
  },
} as const satisfies Record<string, StageSettings>;

/**
 * `npm start`'s stage. It is never deployed (parseStage refuses it); its throttling is what the
 * local server enforces, as API Gateway enforces a deployed stage's. These are API Gateway's
 * default account-level limits (10,000 requests a second, bursts of 5,000), far above what
 * `npm run load` sends (about 750 a second at 64 connections) or any test; `npm start --
 * --throttle RATE,BURST` sets others, e.g. dev's, to watch a client meet a 429.
 */
const localStage = {
  throttling: { rateLimit: 10_000, burstLimit: 5_000 },
} as const satisfies Pick<StageSettings, "throttling">;

export const stageSettings = { ...deployedStages, local: localStage } as const;

/** A deployable stage. */
export type StageName = keyof typeof deployedStages;

export function isStageName(value: unknown): value is StageName {
  return typeof value === "string" && Object.hasOwn(deployedStages, value);
}

/** The `stage` context value (`-c stage=...`); dev when absent. */
export function parseStage(value: unknown): StageName {
  const stage = value ?? "dev";
  if (stage === "local") throw new Error('stage "local" is npm start\'s and is never deployed: use -c stage=dev');
  if (!isStageName(stage)) {
    throw new Error(
      `unknown stage ${JSON.stringify(stage)}: expected one of ${Object.keys(deployedStages).join(", ")}`,
    );
  }
  return stage;
}

/** Every physical name of a stage starts with this: `stop-task-dev-executions`. */
export function resourcePrefix(stage: StageName): string {
  return `stop-task-${stage}`;
}
