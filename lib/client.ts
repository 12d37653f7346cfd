import type * as z from "zod/mini";
import type { bulkStopScopeSchema } from "./bulk-stop/scope.js";
import { type BulkStopView, bulkStopDryRunSchema, bulkStopViewSchema } from "./bulk-stop/view.js";
import { type AgentExecution, agentExecutionSchema, isTerminal } from "./execution.js";
import { API_KEY_HEADER } from "./http/headers.js";
import {
  errorBodySchema,
  REQUEST_ID_HEADER,
  type ValidationIssue,
  validationErrorBodySchema,
} from "./http/responses.js";
import type { Limits } from "./limits.js";
import { gatewayAnswers } from "./resources.js";

/**
 * A typed client for the task API: fetch-based, no dependency beyond zod (already the schema
 * source). Every non-2xx answer becomes a typed error carrying the status, the `detail` and
 * the request id to quote in a support ticket, whether the service gave it or API Gateway did
 * (lib/resources.ts `gatewayAnswers`: the same shape and headers).
 */

export class TaskApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly requestId: string | undefined,
  ) {
    super(`${status}: ${detail}`);
    this.name = new.target.name;
  }
}
export class UnauthorizedError extends TaskApiError {}
export class ForbiddenError extends TaskApiError {}
export class TaskNotFoundError extends TaskApiError {}
/** API Gateway's 404 "Not Found": no route has this path and method, so the base URL is wrong, not the task id. */
export class RouteNotFoundError extends TaskApiError {}
/** API Gateway throttled the request (429): nothing was done; retry after `retryAfterSeconds`. */
/** An answer that may say how long to wait before retrying (`Retry-After`). */
abstract class RetryableTaskApiError extends TaskApiError {
  constructor(
    status: number,
    detail: string,
    requestId: string | undefined,
    /** Seconds the server or API Gateway asked to wait before retrying, when it said. */
    readonly retryAfterSeconds: number | undefined,
  ) {
    super(status, detail, requestId);
  }
}
export class ThrottledError extends RetryableTaskApiError {}
export class TaskValidationError extends TaskApiError {
  constructor(
    status: number,
    readonly issues: readonly ValidationIssue[],
    requestId: string | undefined,
  ) {
    super(status, issues.map((issue) => `${issue.loc.join(".")}: ${issue.msg}`).join("; "), requestId);
  }
}
export class ServerError extends RetryableTaskApiError {}
/**
 * API Gateway answered instead of the service: the function failed (502) or did not answer in
 * time (504). Whether a stop took effect is unknown; stopping again is safe (stops are idempotent).
 */
export class GatewayError extends ServerError {}
/**
 * stopAndWait gave up before the task (or, with `includeSubExecutions`, a sub-execution) reached
 * a terminal state; `last` is the task as it saw it last, `pending` the sub-executions still running.
 */
export class StopTimeoutError extends Error {
  override name = "StopTimeoutError";
  constructor(
    readonly last: AgentExecution,
    readonly pending: readonly string[] = [],
  ) {
    super(
      pending.length === 0
        ? `task ${last.id} still ${last.status} when the wait ran out`
        : `task ${last.id} is ${last.status}, but ${pending.length} of its sub-executions still ran when the wait ran out`,
    );
  }
}

export interface TaskClientOptions {
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly fetch?: typeof fetch;
}

export interface RequestOptions {
  readonly signal?: AbortSignal;
}

export interface StopOptions extends RequestOptions {
  /** Why, in the caller's own words (1 to 500 characters): stored as the record's `stop_note`. */
  readonly reason?: string;
}

export interface StopAndWaitOptions extends StopOptions {
  /** Give up after this long (default 60 s). */
  readonly timeoutMs?: number;
  /** First poll interval (default 500 ms); it grows by half each poll, up to `maxIntervalMs`. */
  readonly intervalMs?: number;
  readonly maxIntervalMs?: number;
  /**
   * Also wait until every sub-execution the stop reaches is terminal: the task's
   * `sub_executions`, and recursively those of each one that ended `stopped` (the cascade stops
   * running ones; one that had already completed or failed ends its branch, as it does the
   * cascade's). Another organization's sub-executions are never touched, so never waited for.
   */
  readonly includeSubExecutions?: boolean;
  /** Get Task requests in flight at once while waiting for sub-executions (default 4). */
  readonly concurrency?: number;
}

function retryAfterSeconds(response: Response): number | undefined {
  const seconds = Number(response.headers.get("retry-after"));
  return Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
}

/** Statuses only API Gateway gives (the service's own failures are 500 and 503). */
const GATEWAY_FAILURE_STATUSES: ReadonlySet<number> = new Set([
  gatewayAnswers.INTEGRATION_FAILURE.status,
  gatewayAnswers.INTEGRATION_TIMEOUT.status,
]);

async function toError(response: Response): Promise<TaskApiError> {
  const requestId = response.headers.get(REQUEST_ID_HEADER) ?? undefined;
  const body: unknown = await response.json().catch(() => undefined);
  if (response.status === 422) {
    const parsed = validationErrorBodySchema.safeParse(body);
    return new TaskValidationError(422, parsed.success ? parsed.data.detail : [], requestId);
  }
  const parsed = errorBodySchema.safeParse(body);
  const detail = parsed.success ? parsed.data.detail : response.statusText;
  switch (response.status) {
    case 401:
      return new UnauthorizedError(401, detail, requestId);
    case 403:
      return new ForbiddenError(403, detail, requestId);
    case 404:
      return detail === gatewayAnswers.MISSING_AUTHENTICATION_TOKEN.detail
        ? new RouteNotFoundError(404, detail, requestId)
        : new TaskNotFoundError(404, detail, requestId);
    case 429:
      return new ThrottledError(429, detail, requestId, retryAfterSeconds(response));
  }
  if (GATEWAY_FAILURE_STATUSES.has(response.status))
    return new GatewayError(response.status, detail, requestId, retryAfterSeconds(response));
  if (response.status >= 500) return new ServerError(response.status, detail, requestId, retryAfterSeconds(response));
  return new TaskApiError(response.status, detail, requestId);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export function createTaskClient(options: TaskClientOptions) {
  const fetchImpl = options.fetch ?? fetch;
  const baseUrl = options.baseUrl.replace(/\/+$/, "");

  async function send(
    method: "GET" | "POST" | "PUT" | "DELETE",
    path: string,
    signal?: AbortSignal,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<unknown> {
    const response = await fetchImpl(`${baseUrl}${path}`, {
      method,
      headers: {
        [API_KEY_HEADER]: options.apiKey,
        accept: "application/json",
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      signal,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw await toError(response);
    return response.json();
  }

  async function call(
    method: "GET" | "POST" | "PUT",
    path: string,
    signal?: AbortSignal,
    body?: unknown,
  ): Promise<AgentExecution> {
    return agentExecutionSchema.parse(await send(method, path, signal, body));
  }

  const taskPath = (taskId: string) => `/v1/tasks/${encodeURIComponent(taskId)}`;

  async function getTask(taskId: string, requestOptions: RequestOptions = {}): Promise<AgentExecution> {
    return call("GET", taskPath(taskId), requestOptions.signal);
  }

  async function stopTask(taskId: string, stopOptions: StopOptions = {}): Promise<AgentExecution> {
    return call(
      "POST",
      `${taskPath(taskId)}/stop`,
      stopOptions.signal,
      stopOptions.reason === undefined ? undefined : { reason: stopOptions.reason },
    );
  }

  /**
   * Sets the task's own limits (`PUT /v1/tasks/{task_id}/limits`), replacing any it had: a limit
   * left out or null is unset, and the organization's default applies to it.
   */
  async function setTaskLimits(
    taskId: string,
    limits: Limits,
    requestOptions: RequestOptions = {},
  ): Promise<AgentExecution> {
    return call("PUT", `${taskPath(taskId)}/limits`, requestOptions.signal, limits);
  }

  /** A busy, throttled or briefly unavailable service is worth waiting out; anything else is the caller's to see. */
  function isWorthWaitingOut(error: unknown): error is ServerError | ThrottledError {
    return error instanceof ServerError || error instanceof ThrottledError;
  }

  /** Stops the task, then polls Get Task with backoff until it is terminal (the reference's "stop and confirm"). */
  async function stopAndWait(taskId: string, waitOptions: StopAndWaitOptions = {}): Promise<AgentExecution> {
    const { signal, timeoutMs = 60_000, intervalMs = 500, maxIntervalMs = 5_000 } = waitOptions;
    const deadline = Date.now() + timeoutMs;
    let interval = intervalMs;
    let current = await stopTask(taskId, {
      signal,
      ...(waitOptions.reason === undefined ? {} : { reason: waitOptions.reason }),
    });
    while (!isTerminal(current.status)) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new StopTimeoutError(current);
      await sleep(Math.min(interval, remaining), signal);
      interval = Math.min(interval * 1.5, maxIntervalMs);
      try {
        current = await getTask(taskId, { signal });
      } catch (error) {
        if (!isWorthWaitingOut(error) || Date.now() >= deadline) throw error;
        if (error.retryAfterSeconds) interval = Math.max(interval, error.retryAfterSeconds * 1000);
      }
    }
    if (waitOptions.includeSubExecutions) await waitForSubExecutions(current, { ...waitOptions, deadline });
    return current;
  }

  /**
   * Polls the sub-executions the stop reaches until each is terminal, each one only until it is:
   * a stopped one's own sub-executions join the wait, a 403 (another organization's) or a 404
   * (listed, never written) leaves it.
   */
  async function waitForSubExecutions(
    root: AgentExecution,
    waitOptions: StopAndWaitOptions & { deadline: number },
  ): Promise<void> {
    const { signal, deadline, intervalMs = 500, maxIntervalMs = 5_000, concurrency = 4 } = waitOptions;
    const seen = new Set<string>([root.id]);
    const reachedFrom = (execution: AgentExecution) =>
      execution.status === "stopped"
        ? (execution.sub_executions ?? []).filter((id) => !seen.has(id) && seen.add(id))
        : [];
    let pending = reachedFrom(root);
    let interval = intervalMs;
    while (pending.length > 0) {
      const stillRunning: string[] = [];
      const discovered: string[] = [];
      let waitAtLeastMs = 0;
      const queue = [...pending];
      const poll = async () => {
        for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
          try {
            const child = await getTask(id, { signal });
            if (isTerminal(child.status)) discovered.push(...reachedFrom(child));
            else stillRunning.push(id);
          } catch (error) {
            if (error instanceof ForbiddenError || error instanceof TaskNotFoundError) continue;
            if (!isWorthWaitingOut(error)) throw error;
            stillRunning.push(id);
            waitAtLeastMs = Math.max(waitAtLeastMs, (error.retryAfterSeconds ?? 0) * 1000);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, queue.length)) }, poll));
      pending = [...stillRunning, ...discovered];
      // Newly reached sub-executions are read at once; only the ones still running are waited for.
      if (discovered.length > 0 || pending.length === 0) continue;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new StopTimeoutError(root, pending);
      await sleep(Math.min(Math.max(interval, waitAtLeastMs), remaining), signal);
      interval = Math.min(interval * 1.5, maxIntervalMs);
    }
  }

  const stopPath = (stopId: string) => `/v1/stops/${encodeURIComponent(stopId)}`;

  /** A bulk stop's progress (`GET /v1/stops/{stop_id}`). */
  async function getBulkStop(stopId: string, requestOptions: RequestOptions = {}): Promise<BulkStopView> {
    return bulkStopViewSchema.parse(await send("GET", stopPath(stopId), requestOptions.signal));
  }

  /** Ends a bulk stop's hold now (`DELETE /v1/stops/{stop_id}/hold`). */
  async function endBulkStopHold(stopId: string, requestOptions: RequestOptions = {}): Promise<BulkStopView> {
    return bulkStopViewSchema.parse(await send("DELETE", `${stopPath(stopId)}/hold`, requestOptions.signal));
  }

  /**
   * Stops every running task of the caller's organization in `scope` (`POST /v1/stops`), and with `waitUntilDone`
   * polls it until it is done. A retry with the same `idempotencyKey` returns the same bulk stop. A dry run answers
   * the count only (use `countMany`).
   */
  async function stopMany(scope: BulkStopScopeInput, stopOptions: StopManyOptions = {}): Promise<BulkStopView> {
    const created = bulkStopViewSchema.parse(
      await send(
        "POST",
        "/v1/stops",
        stopOptions.signal,
        {
          scope,
          ...(stopOptions.reason === undefined ? {} : { reason: stopOptions.reason }),
          ...(stopOptions.holdSeconds === undefined ? {} : { hold_seconds: stopOptions.holdSeconds }),
        },
        stopOptions.idempotencyKey === undefined ? {} : { "idempotency-key": stopOptions.idempotencyKey },
      ),
    );
    if (!stopOptions.waitUntilDone) return created;
    const deadline = Date.now() + (stopOptions.timeoutMs ?? 120_000);
    let interval = stopOptions.intervalMs ?? 500;
    for (;;) {
      const progress = await getBulkStop(created.stop_id, stopOptions);
      if (progress.status === "done") return progress;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new BulkStopTimeoutError(progress);
      await sleep(Math.min(interval, remaining), stopOptions.signal);
      interval = Math.min(interval * 1.5, stopOptions.maxIntervalMs ?? 5_000);
    }
  }

  /** How many running tasks `scope` selects now: a dry run, which changes nothing. */
  async function countMany(scope: BulkStopScopeInput, requestOptions: RequestOptions = {}): Promise<number> {
    const answer = bulkStopDryRunSchema.parse(
      await send("POST", "/v1/stops", requestOptions.signal, { scope, dry_run: true }),
    );
    return answer.matched;
  }

  const tasks = { get: getTask, stop: stopTask, stopAndWait, setLimits: setTaskLimits, stopMany, countMany };
  return { getTask, stopTask, stopAndWait, setTaskLimits, stopMany, countMany, getBulkStop, endBulkStopHold, tasks };
}

/** A bulk stop's scope as a caller writes it (lib/bulk-stop/scope.ts): `agent_id` or a time bound at least. */
export type BulkStopScopeInput = z.input<typeof bulkStopScopeSchema>;

export interface StopManyOptions extends RequestOptions {
  /** Stored as each task's `stop_note`. */
  readonly reason?: string;
  /** Also stop, at birth, every task in scope that starts in the next this many seconds. */
  readonly holdSeconds?: number;
  /** A retry with the same key returns the same bulk stop. */
  readonly idempotencyKey?: string;
  /** Poll until every matched task was handled (default false: answer as soon as it is accepted). */
  readonly waitUntilDone?: boolean;
  /** Give up waiting after this long (default 120 s). */
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  readonly maxIntervalMs?: number;
}

/** `stopMany(..., { waitUntilDone })` ran out of time; the bulk stop goes on, and `progress` is where it was. */
export class BulkStopTimeoutError extends Error {
  override name = "BulkStopTimeoutError";
  constructor(readonly progress: BulkStopView) {
    super(`bulk stop ${progress.stop_id} not done in time: ${progress.stopped} of ${progress.matched} stopped so far`);
  }
}

export type TaskClient = ReturnType<typeof createTaskClient>;
