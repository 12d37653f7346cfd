import * as z from "zod/mini";
import { bulkStopRequestSchema } from "../bulk-stop/scope.js";
import { bulkStopDryRunSchema, bulkStopViewSchema } from "../bulk-stop/view.js";
import { agentExecutionSchema, taskIdSchema } from "../execution.js";
import {
  type GatewayResponseType,
  gatewayAnswers,
  type RouteDefinition,
  type RouteFunctionName,
  routes,
} from "../resources.js";
import { API_KEY_HEADER } from "./headers.js";
import { limitsRequestBodySchema } from "./limits-request-body.js";
import {
  errorBodySchema,
  invalidTaskIdIssue,
  REQUEST_ID_HEADER,
  RETRY_AFTER_SECONDS,
  validationErrorBodySchema,
} from "./responses.js";
import { stopRequestBodySchema } from "./stop-request-body.js";

/**
 * The OpenAPI 3.1 document, generated from the zod schemas that define the record, the error
 * bodies and the path parameter, and from the route table: nothing here restates a field.
 */

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodMiniType, io: "input" | "output" = "output"): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: "draft-2020-12", io }) as JsonSchema;
  return rest;
}

const exampleExecution = agentExecutionSchema.parse({
  id: "6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e",
  agent_id: "agent-research",
  organization_id: "org-demo",
  input: { text: "Research the market", files: [] },
  status: "stopped",
  created_at: "2026-11-25T10:00:00.000Z",
  started_at: "2026-11-25T10:00:01.000Z",
  finished_at: "2026-11-25T10:04:12.000Z",
  stopped_at: "2026-11-25T10:04:12.000Z",
  stop_reason: "user_requested",
  stopped_by: "key_demo",
  is_manually_stopped: true,
  worker_id: "worker-1",
  source: "api",
});

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

function errorResponse(description: string, detail: string, extraHeaders: Record<string, unknown> = {}) {
  return {
    description,
    headers: { [REQUEST_ID_HEADER]: { $ref: "#/components/headers/RequestId" }, ...extraHeaders },
    content: { "application/json": { schema: ref("HTTPError"), example: { detail } } },
  };
}

/**
 * What API Gateway itself can answer to a request for a route (lib/resources.ts
 * `gatewayAnswers`). Its 404 is for requests that match no route, and its catch-alls keep the
 * status of what they caught (the 500 above documents that shape).
 */
const gatewayAnswersOnRoutes = [
  "REQUEST_TOO_LARGE",
  "THROTTLED",
  "INTEGRATION_FAILURE",
  "INTEGRATION_TIMEOUT",
] as const satisfies readonly GatewayResponseType[];

function gatewayResponses(): Record<string, ReturnType<typeof errorResponse>> {
  return Object.fromEntries(
    gatewayAnswersOnRoutes.map((type) => {
      const answer = gatewayAnswers[type];
      const retryAfter =
        "retryAfterSeconds" in answer
          ? {
              "retry-after": {
                description: "Seconds to wait before retrying",
                schema: { type: "integer", example: answer.retryAfterSeconds },
              },
            }
          : {};
      return [
        String(answer.status),
        errorResponse(`API Gateway's own answer, when ${answer.when}`, answer.detail, retryAfter),
      ];
    }),
  );
}

/** The service's own 500 and 503, on every route. */
function serverErrorResponses() {
  return {
    "500": errorResponse(
      "Internal error, the service's or API Gateway's (nothing about it is disclosed)",
      "Internal server error",
    ),
    "503": errorResponse(
      "A dependency is unavailable; nothing was changed. Retry after the given seconds.",
      "Service temporarily unavailable, please retry",
      {
        "retry-after": {
          description: "Seconds to wait before retrying",
          schema: { type: "integer", example: RETRY_AFTER_SECONDS },
        },
      },
    ),
  };
}

interface OperationText {
  readonly summary: string;
  readonly description: string;
  readonly success: string;
  /** The operation reads an optional JSON body of this schema (components/schemas). */
  readonly requestBody?: {
    readonly schema: string;
    readonly description: string;
    readonly example: unknown;
    readonly required?: boolean;
  };
  readonly validationError: string;
}

const operationText: Record<Exclude<RouteFunctionName, "bulk-stop">, OperationText> = {
  "stop-task": {
    summary: "Stop Task",
    description:
      "Cancel a running task. Sends a stop signal to the worker executing the task, marks the execution as stopped, and sets " +
      "is_manually_stopped: true. Idempotent: a task already completed, failed or stopped is returned unchanged. For agents in a " +
      "self-hosted environment the stop is routed through the asset-command channel. Every running sub-execution of the task " +
      "(recursively, within the caller's organization) is then stopped too, asynchronously, with `stop_reason: parent_stopped`; " +
      "the answer does not wait for them.",
    success: "Stop signal accepted (or task already in a terminal state)",
    requestBody: {
      schema: "StopTaskRequest",
      description:
        "Optional. `reason`, in the caller's own words, is stored as the record's `stop_note` and carried in the stop message " +
        "and the Task Stopped event; `stop_reason` stays the machine-readable code. No body, an empty body or `null` stops " +
        "without a note, whatever the Content-Type.",
      example: { reason: "Wrong prompt, rerunning with the fixed one" },
    },
    validationError: "Validation error (malformed task_id or body); nothing was changed",
  },
  "get-task": {
    summary: "Get Task",
    description:
      "The execution as it is now. Poll it after Stop Task until `status` is terminal. A stop reaches every running " +
      "sub-execution of the task too (`stop_reason: parent_stopped`); each shows `stopped` here as soon as it is.",
    success: "The Agent Execution",
    validationError: "Validation error (malformed task_id)",
  },
};

/** Operations that share a function with another but are not the same operation (by operationId). */
const operationTextById: Readonly<Record<string, OperationText>> = {
  setTaskLimits: {
    summary: "Set Task Limits",
    description:
      "Set the task's own runaway limits: `max_tokens` (prompt + completion), `max_duration_seconds` and `max_tool_calls`. " +
      "Each replaces the organization's default for this task, lower or higher; a limit left out or null is unset (the " +
      "default applies). When the task's usage goes over a limit in force it is stopped, with `stop_reason` " +
      "`token_limit_exceeded`, `tool_call_limit_exceeded` or `duration_limit_exceeded`, `is_manually_stopped: false` and " +
      "`stopped_by` naming the guard; a limit below what the task already spent stops it within a second or two. Returns " +
      "the execution with its `limits`.",
    success: "The Agent Execution, with its new limits",
    requestBody: {
      schema: "TaskLimitsRequest",
      description: "Required. Each limit a non-negative integer, or null for none of its own.",
      example: { max_tokens: 200000, max_tool_calls: 50 },
      required: true,
    },
    validationError: "Validation error (malformed task_id or body); nothing was changed",
  },
};

const requestIdHeader = { [REQUEST_ID_HEADER]: { $ref: "#/components/headers/RequestId" } };

const exampleBulkStop = bulkStopViewSchema.parse({
  stop_id: "0b6f4a52-8c1e-4f0e-9d7a-2c3b4d5e6f70",
  scope: {
    agent_id: "agent-research",
    started_after: "2026-11-25T09:00:00.000000Z",
    statuses: ["pending", "executing", "paused", "error"],
  },
  reason: "Bad agent version deployed",
  status: "running",
  matched: 120,
  stopped: 80,
  already_terminal: 3,
  failed: 0,
  held: 2,
  hold_until: "2026-11-25T11:00:00.000000Z",
  hold_active: true,
  created_at: "2026-11-25T10:00:00.000000Z",
  completed_at: null,
  failed_task_ids: [],
});

/** The bulk stop routes: their own parameter, body and answers, in the same error shapes as the task routes. */
function bulkStopOperation(route: RouteDefinition) {
  const common = {
    operationId: route.operationId,
    tags: ["bulk stops"],
    responses: {
      "401": errorResponse("Unauthorized (invalid API key)", "Invalid or missing API key"),
      ...gatewayResponses(),
      ...serverErrorResponses(),
    },
  };
  const view = (description: string, status: string) => ({
    [status]: {
      description,
      headers: requestIdHeader,
      content: { "application/json": { schema: ref("BulkStop"), example: exampleBulkStop } },
    },
  });
  const validation = (description: string) => ({
    "422": {
      description,
      headers: requestIdHeader,
      content: { "application/json": { schema: ref("HTTPValidationError") } },
    },
  });
  const lookups = {
    "403": errorResponse(
      "Forbidden (the bulk stop belongs to a different organization)",
      "Bulk stop belongs to a different organization",
    ),
    "404": errorResponse("Bulk stop not found", "Bulk stop not found"),
  };
  if (route.method === "POST") {
    return {
      ...common,
      summary: "Stop Many Tasks",
      description:
        "Stop every running task of the caller's organization that the scope selects: `agent_id`, a window of starts " +
        "(`started_after`, `started_before`, both inclusive, any ISO 8601 form), and `statuses` (default: every running " +
        "status). A scope needs `agent_id` or a time bound. Each task is stopped as Stop Task stops it, with " +
        "`stop_reason: bulk_stop`, `stopped_by: bulk:<stop_id>`, `is_manually_stopped: true` and `reason` as its " +
        "`stop_note`; its sub-executions follow. The work runs after the answer: poll Get Bulk Stop. With `hold_seconds`, " +
        "a task in scope that starts or is inserted before the hold ends is stopped at birth (`stop_reason: held`). " +
        "With `dry_run`, answers how many running tasks the scope matches and changes nothing. An `Idempotency-Key` " +
        "header makes a retry return the bulk stop the first request made. A Bulk Stop Completed event follows the end.",
      parameters: [
        {
          name: "Idempotency-Key",
          in: "header",
          required: false,
          description: "Any string of 1 to 255 characters, unique per bulk stop the caller means to make",
          schema: { type: "string", minLength: 1, maxLength: 255 },
        },
      ],
      requestBody: {
        required: true,
        content: {
          "application/json": {
            schema: ref("BulkStopRequest"),
            example: {
              scope: { agent_id: "agent-research", started_after: "2026-11-25T09:00:00Z" },
              reason: "Bad agent version deployed",
              hold_seconds: 3600,
            },
          },
        },
      },
      responses: {
        ...view("Accepted: the bulk stop, with the count its scope matched at the request", "202"),
        "200": {
          description: "Dry run: how many running tasks the scope matches now; nothing was changed",
          headers: requestIdHeader,
          content: { "application/json": { schema: ref("BulkStopDryRun") } },
        },
        ...validation("Validation error (malformed or empty scope, or body); nothing was changed"),
        ...common.responses,
      },
    };
  }
  const endHold = route.method === "DELETE";
  return {
    ...common,
    summary: endHold ? "End Bulk Stop Hold" : "Get Bulk Stop",
    description: endHold
      ? "End the bulk stop's hold now: tasks that start after this are not stopped. The bulk stop's own work goes on. " +
        "Ending a hold that already ended changes nothing."
      : "The bulk stop's progress: matched, stopped, already terminal, failed and held so far, whether it is done, and its hold.",
    parameters: [
      {
        name: "stop_id",
        in: "path",
        required: true,
        description: "The bulk stop's id (UUID format)",
        schema: jsonSchema(taskIdSchema, "input"),
      },
    ],
    responses: {
      ...view(endHold ? "The bulk stop, its hold ended" : "The bulk stop", "200"),
      ...lookups,
      ...validation("Validation error (malformed stop_id)"),
      ...common.responses,
    },
  };
}

function operation(route: RouteDefinition) {
  if (route.functionName === "bulk-stop") return bulkStopOperation(route);
  const text =
    operationTextById[route.operationId] ??
    operationText[route.functionName as Exclude<RouteFunctionName, "bulk-stop">];
  const compatibility = route.compatibility === true;
  return {
    operationId: route.operationId,
    summary: compatibility ? `${text.summary} (compatibility route)` : text.summary,
    description: compatibility
      ? `${text.description}\n\nCompatibility route for the platform's SDK; same behaviour as the documented route.`
      : text.description,
    tags: [compatibility ? "compatibility" : "tasks"],
    parameters: [{ $ref: "#/components/parameters/TaskId" }],
    ...(text.requestBody
      ? {
          requestBody: {
            required: text.requestBody.required ?? false,
            description: text.requestBody.description,
            content: {
              "application/json": { schema: ref(text.requestBody.schema), example: text.requestBody.example },
            },
          },
        }
      : {}),
    responses: {
      "200": {
        description: text.success,
        headers: { [REQUEST_ID_HEADER]: { $ref: "#/components/headers/RequestId" } },
        content: { "application/json": { schema: ref("AgentExecution"), example: exampleExecution } },
      },
      "401": errorResponse("Unauthorized (invalid API key)", "Invalid or missing API key"),
      "403": errorResponse(
        "Forbidden (task belongs to a different organization)",
        "Task belongs to a different organization",
      ),
      "404": errorResponse("Task not found", "Task not found"),
      "422": {
        description: text.validationError,
        headers: { [REQUEST_ID_HEADER]: { $ref: "#/components/headers/RequestId" } },
        content: {
          "application/json": { schema: ref("HTTPValidationError"), example: { detail: [invalidTaskIdIssue] } },
        },
      },
      ...gatewayResponses(),
      ...serverErrorResponses(),
    },
  };
}

export function buildOpenApiDocument(serverUrl = "http://127.0.0.1:3000") {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes as readonly RouteDefinition[]) {
    paths[route.path] ??= {};
    const methods = paths[route.path] ?? {};
    methods[route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "stop-task",
      version: "1.0.0",
      description: "Stop a running AI-agent task and read its state. Every response carries an x-request-id header.",
    },
    jsonSchemaDialect: "https://spec.openapis.org/oas/3.1/dialect/base",
    servers: [{ url: serverUrl }],
    security: [{ ApiKeyAuth: [] }],
    tags: [
      { name: "tasks", description: "The documented task routes" },
      { name: "compatibility", description: "Routes the platform's own SDK calls; same handlers and behaviour" },
      {
        name: "bulk stops",
        description: "Stop many tasks of the caller's organization at once, and hold the scope closed",
      },
    ],
    paths,
    components: {
      securitySchemes: {
        ApiKeyAuth: { type: "apiKey", in: "header", name: API_KEY_HEADER, description: "API Key for authentication" },
      },
      parameters: {
        TaskId: {
          name: "task_id",
          in: "path",
          required: true,
          description: "Unique identifier of the task (UUID format)",
          schema: jsonSchema(taskIdSchema, "input"),
        },
      },
      headers: {
        RequestId: { description: "The request id, also in the service's logs", schema: { type: "string" } },
      },
      schemas: {
        AgentExecution: jsonSchema(agentExecutionSchema),
        HTTPError: jsonSchema(errorBodySchema),
        HTTPValidationError: jsonSchema(validationErrorBodySchema),
        StopTaskRequest: jsonSchema(stopRequestBodySchema, "input"),
        TaskLimitsRequest: jsonSchema(limitsRequestBodySchema, "input"),
        BulkStopRequest: jsonSchema(bulkStopRequestSchema, "input"),
        BulkStop: jsonSchema(bulkStopViewSchema),
        BulkStopDryRun: jsonSchema(bulkStopDryRunSchema),
      },
    },
  };
}

export type OpenApiDocument = ReturnType<typeof buildOpenApiDocument>;
