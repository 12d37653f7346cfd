import * as z from "zod/mini";

/**
 * Runaway guards: an organization's default limits and a task's own override, and the rule that
 * says whether a task's usage crossed the limit in force. Pure: the stores are in
 * lib/executions/limits-store.ts, the enforcement in lib/guards.ts.
 *
 * A limit is crossed when usage is strictly above it: usage at the limit is allowed.
 */

export const limitNames = ["max_tokens", "max_tool_calls", "max_duration_seconds"] as const;
export type LimitName = (typeof limitNames)[number];

/**
 * The largest value of each limit that the guards compute with, and so the largest accepted
 * anywhere (`PUT .../limits`, `npm run limits`): counts up to the largest integer a JavaScript
 * number holds exactly; durations up to 10 years (365-day years), far beyond any task, so that a
 * start plus the limit is always a date the deadline index can hold (lib/executions/deadlines.ts).
 */
export const limitMaximums = {
  max_tokens: Number.MAX_SAFE_INTEGER,
  max_tool_calls: Number.MAX_SAFE_INTEGER,
  max_duration_seconds: 10 * 365 * 24 * 60 * 60,
} as const satisfies Record<LimitName, number>;

const limitValue = (name: LimitName) => z.nullable(z.int().check(z.nonnegative(), z.maximum(limitMaximums[name])));

/** Limits as a caller sets them (`PUT .../limits`) and Get Task returns them: each may be unset (null). */
export const limitsSchema = z.object({
  max_tokens: z.optional(limitValue("max_tokens")),
  max_duration_seconds: z.optional(limitValue("max_duration_seconds")),
  max_tool_calls: z.optional(limitValue("max_tool_calls")),
});
export type Limits = { readonly [name in LimitName]?: number | null };

/**
 * A stored limit read leniently: DynamoDB numbers may come back as floats (`1000.0`) or as a
 * string from an odd writer; anything that is not a finite non-negative number is unset. A value
 * above the limit's maximum (written before the bound, or by another writer) reads as the
 * maximum: as good as no limit, and never a date out of range.
 */
function readLimitValue(name: LimitName, value: unknown): number | null {
  const number = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  return typeof number === "number" && Number.isFinite(number) && number >= 0
    ? Math.min(Math.floor(number), limitMaximums[name])
    : null;
}

/** Stored limits (an org's item, a task's `limits` map) read leniently: an unreadable value is unset. */
export function readStoredLimits(value: unknown): Limits {
  if (typeof value !== "object" || value === null) return {};
  const record = value as Record<string, unknown>;
  const limits: { [name in LimitName]?: number } = {};
  for (const name of limitNames) {
    const read = readLimitValue(name, record[name]);
    if (read !== null) limits[name] = read;
  }
  return limits;
}

/** The limits in force: each of the task's own beats the organization's, lower or higher. */
export function effectiveLimits(taskOverride: Limits | undefined, organizationDefaults: Limits | undefined): Limits {
  const effective: { [name in LimitName]?: number } = {};
  for (const name of limitNames) {
    const value = taskOverride?.[name] ?? organizationDefaults?.[name];
    if (value !== undefined && value !== null) effective[name] = value;
  }
  return effective;
}

export function hasAnyLimit(limits: Limits | undefined): boolean {
  return limitNames.some((name) => limits?.[name] !== undefined && limits[name] !== null);
}

/** What a task has spent, as the platform reports it on the record. */
export interface Usage {
  readonly tokens: number;
  readonly toolCalls: number;
  readonly durationSeconds: number;
}

const finiteOrZero = (value: unknown) => (typeof value === "number" && Number.isFinite(value) && value > 0 ? value : 0);

/**
 * Usage read from a record's `tokens` ({prompt_tokens, completion_tokens}), `used_tools` (a list)
 * and `duration` (seconds), leniently: nulls, floats and missing parts count as nothing spent.
 */
export function readUsage(record: {
  readonly tokens?: unknown;
  readonly used_tools?: unknown;
  readonly duration?: unknown;
}): Usage {
  const tokens =
    typeof record.tokens === "object" && record.tokens !== null ? (record.tokens as Record<string, unknown>) : {};
  return {
    tokens: finiteOrZero(tokens.prompt_tokens) + finiteOrZero(tokens.completion_tokens),
    toolCalls: Array.isArray(record.used_tools) ? record.used_tools.length : 0,
    durationSeconds: finiteOrZero(record.duration),
  };
}

/** A guard: which limit, the `stop_reason` it stops with, and the `stopped_by` it signs with. */
export const guards = {
  max_tokens: { reason: "token_limit_exceeded", stoppedBy: "guard:token_limit", usage: (usage: Usage) => usage.tokens },
  max_tool_calls: {
    reason: "tool_call_limit_exceeded",
    stoppedBy: "guard:tool_call_limit",
    usage: (usage: Usage) => usage.toolCalls,
  },
  max_duration_seconds: {
    reason: "duration_limit_exceeded",
    stoppedBy: "guard:duration_limit",
    usage: (usage: Usage) => usage.durationSeconds,
  },
} as const satisfies Record<LimitName, { reason: string; stoppedBy: string; usage: (usage: Usage) => number }>;

/** The limit a task crossed and the usage that crossed it: carried by the stop message and the Task Stopped event. */
export const limitCrossingSchema = z.object({ limit_name: z.enum(limitNames), limit: z.number(), usage: z.number() });
export type LimitCrossing = z.infer<typeof limitCrossingSchema>;

/** A stored `stop_limit`, read leniently: anything unreadable is no crossing. */
export function readLimitCrossing(value: unknown): LimitCrossing | undefined {
  const parsed = limitCrossingSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/**
 * The first limit (tokens, then tool calls, then duration) that usage is strictly above, or
 * undefined. `only` restricts the check (the stream checks tokens and tool calls; the cleanup, duration).
 */
export function crossedLimit(
  usage: Usage,
  limits: Limits,
  only: readonly LimitName[] = limitNames,
): LimitCrossing | undefined {
  for (const name of only) {
    const limit = limits[name];
    if (limit === undefined || limit === null) continue;
    const spent = guards[name].usage(usage);
    if (spent > limit) return { limit_name: name, limit, usage: spent };
  }
  return undefined;
}
