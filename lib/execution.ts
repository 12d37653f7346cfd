import * as z from "zod/mini";
import { storedTimestampSchema } from "./timestamp.js";

/**
 * The Agent Execution object, as the public reference returns it from Stop Task and Get Task.
 * One schema is both the TypeScript type and the response shape: parsing a stored item with it
 * drops internal bookkeeping (index keys, version, signal markers) and credentials, and fills
 * every field a record predating it lacks with `null`, so callers always see every key.
 */

export const executionStatuses = ["pending", "executing", "paused", "error", "failed", "completed", "stopped"] as const;
export const executionStatusSchema = z.enum(executionStatuses);
export type ExecutionStatus = z.infer<typeof executionStatusSchema>;

const terminalStatuses = ["completed", "failed", "stopped"] as const satisfies readonly ExecutionStatus[];
export type TerminalStatus = (typeof terminalStatuses)[number];
export const terminalStatusSet: ReadonlySet<string> = new Set(terminalStatuses);
export const terminalStatusList: readonly TerminalStatus[] = terminalStatuses;

/**
 * The states a stop may move to `stopped`: the known ones that are not terminal. Anything else is never transitioned.
 */
export const activeStatusList = executionStatuses.filter((status) => !terminalStatusSet.has(status));

export function isTerminal(status: string): boolean {
  return terminalStatusSet.has(status);
}

const activeStatusSet: ReadonlySet<string> = new Set(activeStatusList);
/** A known status that is not terminal: the execution may still be running. */
export function isActive(status: unknown): boolean {
  return typeof status === "string" && activeStatusSet.has(status);
}

const timestamp = storedTimestampSchema;
const optional = <T extends z.ZodMiniType>(schema: T) => z._default(z.nullable(schema), null);
/** A stored null reads as absent, so the default applies (the client needs `[]` / `{}`, never null). */
const nullAsAbsent = <T extends z.ZodMiniType>(schema: T) =>
  z.pipe(
    z.transform<unknown, unknown>((value) => value ?? undefined),
    schema,
  );

/*
 * One instance per field shape, shared by every field of that shape: zod schemas are immutable, so
 * sharing changes no parse, and a cold start constructs each shape once instead of once per field
 * (about a hundred fewer schema objects; docs/performance.md, "What each cut bought").
 */
const optionalString = optional(z.string());
const optionalBoolean = optional(z.boolean());
const optionalTimestamp = optional(timestamp);
const nullishString = z.nullish(z.string());
const nullishBoolean = z.nullish(z.boolean());
const nullishInt = z.nullish(z.int());

const inputSchema = z.object({
  text: nullishString,
  files: z.nullish(z.array(z.string())),
  user: z.nullish(z.object({ id: nullishString, email: z.string() })),
});

const hitlRequestSchema = z.looseObject({ wait_node_id: z.string() });
const pendingEcaRequestSchema = z.looseObject({ connector_name: z.string(), auth_url: z.string() });

/** An MCP server entry as returned: `api_key` and `client_secret` are never part of it. */
const mcpServerSchema = z.object({
  type: z.nullish(z.enum(["local", "remote"])),
  name: nullishString,
  command: nullishString,
  url: nullishString,
  transport: z.nullish(z.enum(["stdio", "sse", "streamable-http"])),
  auth_type: z.nullish(z.enum(["api_key", "oauth2", "custom_headers", "none"])),
  use_secrets_manager: nullishBoolean,
  client_id: nullishString,
  headers: z.nullish(z.record(z.string(), z.string())),
  env_vars: z.nullish(z.record(z.string(), z.string())),
  allowed_tools: z.nullish(z.array(z.string())),
  additional_scopes: z.nullish(z.array(z.string())),
  share_user_token_across_other_agents: nullishBoolean,
});

const deepPlanningSchema = z.object({
  enabled: nullishBoolean,
  enforce: nullishBoolean,
  started: nullishBoolean,
  question_raised: nullishBoolean,
  tasks: z.nullish(z.array(z.object({ id: z.string(), title: z.string(), completed: nullishBoolean }))),
});

export const agentExecutionSchema = z.object({
  id: z.guid(),
  agent_id: z.string(),
  organization_id: z.string(),
  input: nullAsAbsent(z._default(inputSchema, {})),
  status: executionStatusSchema,
  internal_status: optional(z.string().check(z.maxLength(255))),
  created_at: timestamp,
  started_at: optionalTimestamp,
  paused_at: optionalTimestamp,
  finished_at: optionalTimestamp,
  result: optionalString,
  is_manually_stopped: nullAsAbsent(z._default(z.boolean(), false)),
  last_executed_node_id: optionalString,
  agent_version: optionalString,
  parent_execution: optionalString,
  sub_executions: optional(z.array(z.string())),
  finished_sub_executions: optional(z.array(z.string())),
  payload_extension: optional(z.record(z.string(), z.unknown())),
  hitl_request: optional(hitlRequestSchema),
  pending_eca_request: optional(pendingEcaRequestSchema),
  source: optionalString,
  worker_id: optionalString,
  additional_context: optionalString,
  instructions_override: optionalString,
  // The platform's client mis-defaults these when the key is missing: always sent, null when unset.
  expected_output: optionalString,
  triggering_agent_id: optionalString,
  title: optionalString,
  mcp_servers: nullAsAbsent(z._default(z.array(mcpServerSchema), [])),
  test_run_node_id: optionalString,
  is_orchestration: optionalBoolean,
  output_format: optional(z.enum(["text", "markdown", "json", "voice"])),
  voice_id: optionalString,
  output_schema: optional(z.record(z.string(), z.unknown())),
  events_streaming: optionalBoolean,
  used_mutating_tools: optionalBoolean,
  is_continuous: optionalBoolean,
  think_mode: optional(z.enum(["default", "harder"])),
  model_provider: optionalString,
  model_name: optionalString,
  llm_reasoning_effort: optional(z.enum(["low", "medium", "high", "xhigh"])),
  disable_attachment_injection: optionalBoolean,
  deep_planning: optional(deepPlanningSchema),
  execution_attempts: optional(z.int()),
  return_metrics: optionalBoolean,
  tokens: optional(z.object({ completion_tokens: nullishInt, prompt_tokens: nullishInt })),
  used_tools: optional(z.array(z.string())),
  duration: optional(z.number()),
  /** Self-hosted executions only: the environment whose asset-command channel receives the stop. */
  environment_id: optionalString,
  stopped_at: optionalTimestamp,
  stop_reason: optionalString,
  stopped_by: optionalString,
  /**
   * The caller's own words on why it stopped the task (`{"reason": ...}` of the stop's body); `stop_reason` stays the
   * machine code.
   */
  stop_note: optionalString,
  /** When the worker (or self-hosted environment) confirmed it halted the task. */
  stop_acknowledged_at: optionalTimestamp,
  /**
   * This task's own limits (`PUT /v1/tasks/{task_id}/limits`), each beating its organization's
   * default; null when it has none (the organization's defaults, if any, apply).
   */
  limits: optional(
    z.object({
      max_tokens: z._default(z.nullable(z.int()), null),
      max_duration_seconds: z._default(z.nullable(z.int()), null),
      max_tool_calls: z._default(z.nullable(z.int()), null),
    }),
  ),
});

export type AgentExecution = z.output<typeof agentExecutionSchema>;
/** What a writer may store: the output type with every defaulted field optional. */
export type AgentExecutionInput = z.input<typeof agentExecutionSchema>;

/**
 * An organization id as tenancy reads it: a non-empty string. A record whose `organization_id` is anything else
 * (empty, null, missing, not a string) belongs to no organization, so nothing may act on it in one's name.
 */
export const organizationIdSchema = z.string().check(z.minLength(1));

/** The record's organization, or undefined when it has none that tenancy can rely on. */
export function readOrganizationId(value: unknown): string | undefined {
  const parsed = organizationIdSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/**
 * What a stop needs from a stored record to signal its worker, read on its own and leniently:
 * once the conditional write has stopped a task, its signal must go out even when some other
 * field of the record breaks the public schema.
 */
export const stopTargetSchema = z.object({
  id: z.string(),
  organization_id: z.catch(z.string(), ""),
  agent_id: z.catch(z.string(), ""),
  worker_id: z.catch(z.nullable(z.string()), null),
  environment_id: z.catch(z.nullable(z.string()), null),
  is_manually_stopped: z.catch(z.boolean(), false),
  stopped_at: z.catch(z.nullable(storedTimestampSchema), null),
  stopped_by: z.catch(z.nullable(z.string()), null),
  stop_reason: z.catch(z.nullable(z.string()), null),
  stop_note: z.catch(z.nullable(z.string()), null),
});
export type StopTarget = z.output<typeof stopTargetSchema>;

/**
 * A task id in a path: any 8-4-4-4-12 hex UUID, as FastAPI's UUID type accepts, normalised to
 * lowercase because ids are stored lowercase and DynamoDB keys compare byte for byte.
 */
export const taskIdSchema = z.pipe(
  z.guid(),
  z.transform((id: string) => id.toLowerCase()),
);
