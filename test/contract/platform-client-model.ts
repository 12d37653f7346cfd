import * as z from "zod";

/**
 * A mirror of the platform's Python SDK task model, written from the facts in
 * shared/agent-execution-fields.md ("What the platform's own client needs"), deliberately not
 * derived from lib/execution.ts: it is the other side of the contract, and must be able to
 * disagree with it. Unknown keys are ignored, as the client ignores them.
 */
const str = z.string().nullish();
const bool = z.boolean().nullish();
const int = z.number().int().nullish();
const datetime = z.iso.datetime({ offset: true }).nullish();

const mcpServer = z.looseObject({
  type: z.enum(["local", "remote"]).nullish(),
  name: str,
  command: str,
  url: str,
  transport: z.enum(["stdio", "sse", "streamable-http"]).nullish(),
  auth_type: z.enum(["api_key", "oauth2", "custom_headers", "none"]).nullish(),
  api_key: str,
  use_secrets_manager: bool,
  client_id: str,
  client_secret: str,
  headers: z.record(z.string(), z.string()).nullish(),
  env_vars: z.record(z.string(), z.string()).nullish(),
  allowed_tools: z.array(z.string()).nullish(),
  additional_scopes: z.array(z.string()).nullish(),
  share_user_token_across_other_agents: bool,
});

export const platformClientTaskModel = z
  .looseObject({
    id: z.string(),
    agent_id: z.string(),
    organization_id: z.string(),
    input: z.looseObject({
      text: str,
      files: z.array(z.string()).nullish(),
      user: z.looseObject({ id: str, email: z.string() }).nullish(),
    }),
    created_at: z.iso.datetime({ offset: true }),
    status: z.enum(["pending", "executing", "paused", "error", "failed", "completed", "stopped"]).nullish(),
    internal_status: z.string().max(255).nullish(),
    started_at: datetime,
    paused_at: datetime,
    finished_at: datetime,
    result: str,
    is_manually_stopped: bool,
    last_executed_node_id: str,
    agent_version: str,
    parent_execution: str,
    sub_executions: z.array(z.string()).nullish(),
    finished_sub_executions: z.array(z.string()).nullish(),
    payload_extension: z.record(z.string(), z.unknown()).nullish(),
    hitl_request: z.looseObject({ wait_node_id: z.string() }).nullish(),
    pending_eca_request: z.looseObject({ connector_name: z.string(), auth_url: z.string() }).nullish(),
    source: str,
    worker_id: str,
    additional_context: str,
    instructions_override: str,
    expected_output: z.string().nullable(),
    triggering_agent_id: z.string().nullable(),
    title: z.string().nullable(),
    mcp_servers: z.array(mcpServer),
    test_run_node_id: str,
    is_orchestration: bool,
    output_format: z.enum(["text", "markdown", "json", "voice"]).nullish(),
    voice_id: str,
    output_schema: z.record(z.string(), z.unknown()).nullish(),
    events_streaming: bool,
    used_mutating_tools: bool,
    is_continuous: bool,
    think_mode: z.enum(["default", "harder"]).nullish(),
    model_provider: str,
    model_name: str,
    llm_reasoning_effort: z.enum(["low", "medium", "high", "xhigh"]).nullish(),
    disable_attachment_injection: bool,
    deep_planning: z
      .looseObject({
        enabled: bool,
        enforce: bool,
        started: bool,
        question_raised: bool,
        tasks: z.array(z.looseObject({ id: z.string(), title: z.string(), completed: bool })).nullish(),
      })
      .nullish(),
    execution_attempts: int,
    return_metrics: bool,
    tokens: z.looseObject({ completion_tokens: int, prompt_tokens: int }).nullish(),
    used_tools: z.array(z.string()).nullish(),
    duration: z.number().nullish(),
  })
  .check((context) => {
    // The client passes its own `configuration`; a top-level one in a response breaks it.
    if ("configuration" in context.value) {
      context.issues.push({
        code: "custom",
        message: "top-level configuration key",
        input: context.value,
        path: ["configuration"],
      });
    }
  });

/** Keys the client mis-defaults when missing: they must be present, even when unset. */
export const explicitlySentKeys = ["expected_output", "triggering_agent_id", "title", "mcp_servers"] as const;

/** Credentials a stored record may hold that no route may ever return. */
export const credentialKeys = ["user_oidc_token", "user_tokens"] as const;
export const mcpCredentialKeys = ["api_key", "client_secret"] as const;
