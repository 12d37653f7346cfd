import * as z from "zod";

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

export function isTerminal(status: string): boolean {
  return terminalStatusSet.has(status);
}

const timestamp = z.iso.datetime();
const optional = <T extends z.ZodType>(schema: T) => schema.nullable().default(null);
/** A stored null reads as absent, so the default applies (the client needs `[]` / `{}`, never null). */
const nullAsAbsent = <T extends z.ZodType>(schema: T) => z.preprocess((value) => value ?? undefined, schema);

const inputSchema = z.object({
  text: z.string().optional(),
  files: z.array(z.string()).optional(),
  user: z.object({ id: z.string().nullish(), email: z.string() }).nullish(),
});

const hitlRequestSchema = z.looseObject({ wait_node_id: z.string() });
const pendingEcaRequestSchema = z.looseObject({ connector_name: z.string(), auth_url: z.string() });

/** An MCP server entry as returned: `api_key` and `client_secret` are never part of it. */
const mcpServerSchema = z.object({
  type: z.enum(["local", "remote"]).nullish(),
  name: z.string().nullish(),
  command: z.string().nullish(),
  url: z.string().nullish(),
  transport: z.enum(["stdio", "sse", "streamable-http"]).nullish(),
  auth_type: z.enum(["api_key", "oauth2", "custom_headers", "none"]).nullish(),
  use_secrets_manager: z.boolean().nullish(),
  client_id: z.string().nullish(),
  headers: z.record(z.string(), z.string()).nullish(),
  env_vars: z.record(z.string(), z.string()).nullish(),
  allowed_tools: z.array(z.string()).nullish(),
  additional_scopes: z.array(z.string()).nullish(),
  share_user_token_across_other_agents: z.boolean().nullish(),
});

const deepPlanningSchema = z.object({
  enabled: z.boolean().nullish(),
  enforce: z.boolean().nullish(),
  started: z.boolean().nullish(),
  question_raised: z.boolean().nullish(),
  tasks: z.array(z.object({ id: z.string(), title: z.string(), completed: z.boolean().nullish() })).nullish(),
});

export const agentExecutionSchema = z.object({
  id: z.guid(),
  agent_id: z.string(),
  organization_id: z.string(),
  input: nullAsAbsent(inputSchema.default({})),
  status: executionStatusSchema,
  internal_status: optional(z.string().max(255)),
  created_at: timestamp,
  started_at: optional(timestamp),
  paused_at: optional(timestamp),
  finished_at: optional(timestamp),
  result: optional(z.string()),
  is_manually_stopped: z.boolean().default(false),
  last_executed_node_id: optional(z.string()),
  agent_version: optional(z.string()),
  parent_execution: optional(z.string()),
  sub_executions: optional(z.array(z.string())),
  finished_sub_executions: optional(z.array(z.string())),
  payload_extension: optional(z.record(z.string(), z.unknown())),
  hitl_request: optional(hitlRequestSchema),
  pending_eca_request: optional(pendingEcaRequestSchema),
  source: optional(z.string()),
  worker_id: optional(z.string()),
  additional_context: optional(z.string()),
  instructions_override: optional(z.string()),
  // The platform's client mis-defaults these when the key is missing: always sent, null when unset.
  expected_output: optional(z.string()),
  triggering_agent_id: optional(z.string()),
  title: optional(z.string()),
  mcp_servers: nullAsAbsent(z.array(mcpServerSchema).default([])),
  test_run_node_id: optional(z.string()),
  is_orchestration: optional(z.boolean()),
  output_format: optional(z.enum(["text", "markdown", "json", "voice"])),
  voice_id: optional(z.string()),
  output_schema: optional(z.record(z.string(), z.unknown())),
  events_streaming: optional(z.boolean()),
  used_mutating_tools: optional(z.boolean()),
  is_continuous: optional(z.boolean()),
  think_mode: optional(z.enum(["default", "harder"])),
  model_provider: optional(z.string()),
  model_name: optional(z.string()),
  llm_reasoning_effort: optional(z.enum(["low", "medium", "high", "xhigh"])),
  disable_attachment_injection: optional(z.boolean()),
  deep_planning: optional(deepPlanningSchema),
  execution_attempts: optional(z.number().int()),
  return_metrics: optional(z.boolean()),
  tokens: optional(z.object({ completion_tokens: z.number().int().nullish(), prompt_tokens: z.number().int().nullish() })),
  used_tools: optional(z.array(z.string())),
  duration: optional(z.number()),
  /** Self-hosted executions only: the environment whose asset-command channel receives the stop. */
  environment_id: optional(z.string()),
  stopped_at: optional(timestamp),
  stop_reason: optional(z.string()),
  stopped_by: optional(z.string()),
  /** When the worker (or self-hosted environment) confirmed it halted the task. */
  stop_acknowledged_at: optional(timestamp),
});

export type AgentExecution = z.output<typeof agentExecutionSchema>;
/** What a writer may store: the output type with every defaulted field optional. */
export type AgentExecutionInput = z.input<typeof agentExecutionSchema>;

/**
 * A task id in a path: any 8-4-4-4-12 hex UUID, as FastAPI's UUID type accepts, normalised to
 * lowercase because ids are stored lowercase and DynamoDB keys compare byte for byte.
 */
export const taskIdSchema = z.guid().transform((id) => id.toLowerCase());
