import { describe, expect, it } from "vitest";
import {
  createTaskClient,
  GatewayError,
  RouteNotFoundError,
  ServerError,
  type StopAndWaitOptions,
  StopTimeoutError,
  TaskNotFoundError,
  ThrottledError,
} from "../../lib/client.js";

const TASK = "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e";
const record = (status: string) => ({
  id: TASK,
  agent_id: "a",
  organization_id: "o",
  status,
  created_at: "2026-11-25T11:00:00.000Z",
});
const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

/** A fetch that answers from a script, one response per call, and records what was asked. */
function scriptedFetch(...responses: (() => Response)[]) {
  const calls: string[] = [];
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    calls.push(`${init?.method ?? "GET"} ${String(input)}`);
    const next = responses.shift();
    if (!next) throw new Error("no more scripted responses");
    return next();
  }) as typeof fetch;
  return { fetchImpl, calls };
}

/** A fetch that answers each URL from its own script (the last answer repeats), recording every call and body. */
function routedFetch(routes: Record<string, (() => Response)[]>) {
  const calls: { method: string; url: string; body?: string; contentType?: string }[] = [];
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    const contentType = (init?.headers as Record<string, string> | undefined)?.["content-type"];
    calls.push({
      method: init?.method ?? "GET",
      url,
      ...(init?.body ? { body: String(init.body) } : {}),
      ...(contentType ? { contentType } : {}),
    });
    const script = routes[url];
    if (!script || script.length === 0) throw new Error(`nothing scripted for ${url}`);
    return (script.length > 1 ? script.shift() : script[0])?.() as Response;
  }) as typeof fetch;
  return { fetchImpl, calls };
}

describe("stop with a reason", () => {
  it("sends {reason} as a JSON body, and no body at all without one", async () => {
    const { fetchImpl, calls } = routedFetch({
      [`http://api/v1/tasks/${TASK}/stop`]: [() => json(200, record("stopped"))],
    });
    const client = createTaskClient({ baseUrl: "http://api", apiKey: "k", fetch: fetchImpl });

    await client.stopTask(TASK, { reason: "budget spent" });
    await client.stopTask(TASK);

    expect(calls).toEqual([
      {
        method: "POST",
        url: `http://api/v1/tasks/${TASK}/stop`,
        body: '{"reason":"budget spent"}',
        contentType: "application/json",
      },
      { method: "POST", url: `http://api/v1/tasks/${TASK}/stop` },
    ]);
  });
});

describe("stopAndWait with includeSubExecutions", () => {
  const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
  const node = (n: number, status: string, subExecutions: number[] = []) => ({
    ...record(status),
    id: id(n),
    sub_executions: subExecutions.map(id),
  });
  const url = (n: number) => `http://api/v1/tasks/${id(n)}`;
  const options: StopAndWaitOptions = { intervalMs: 1, includeSubExecutions: true, timeoutMs: 2_000 };

  it("waits for the stopped task's sub-executions, and theirs, until each is terminal", async () => {
    const { fetchImpl, calls } = routedFetch({
      [`${url(1)}/stop`]: [() => json(200, node(1, "stopped", [2, 3, 4, 5]))],
      // Stopped by the cascade after two polls; its own sub-execution joins the wait.
      [url(2)]: [
        () => json(200, node(2, "executing", [6])),
        () => json(200, node(2, "executing", [6])),
        () => json(200, node(2, "stopped", [6])),
      ],
      [url(6)]: [() => json(200, node(6, "pending")), () => json(200, node(6, "stopped"))],
      // Completed before the stop: its branch ends there, as the cascade's does.
      [url(3)]: [() => json(200, node(3, "completed", [7]))],
      // Another organization's: never touched, never waited for.
      [url(4)]: [() => json(403, { detail: "Task belongs to a different organization" })],
      // Listed but never written.
      [url(5)]: [() => json(404, { detail: "Task not found" })],
    });
    const client = createTaskClient({ baseUrl: "http://api", apiKey: "k", fetch: fetchImpl });

    const root = await client.stopAndWait(id(1), options);

    expect(root.id).toBe(id(1));
    const polled = calls.filter((call) => call.method === "GET").map((call) => call.url);
    expect(polled.filter((polledUrl) => polledUrl === url(2))).toHaveLength(3);
    expect(polled.filter((polledUrl) => polledUrl === url(6))).toHaveLength(2);
    expect(new Set(polled)).toEqual(new Set([url(2), url(3), url(4), url(5), url(6)]));
  });

  it("does not wait for sub-executions of a task that was already completed: the stop reached none", async () => {
    const { fetchImpl, calls } = routedFetch({ [`${url(1)}/stop`]: [() => json(200, node(1, "completed", [2]))] });
    const client = createTaskClient({ baseUrl: "http://api", apiKey: "k", fetch: fetchImpl });

    expect((await client.stopAndWait(id(1), options)).status).toBe("completed");
    expect(calls).toHaveLength(1);
  });

  it("gives up naming the sub-executions still running when the time runs out", async () => {
    const { fetchImpl } = routedFetch({
      [`${url(1)}/stop`]: [() => json(200, node(1, "stopped", [2, 3]))],
      [url(2)]: [() => json(200, node(2, "executing"))],
      [url(3)]: [() => json(200, node(3, "stopped"))],
    });
    const client = createTaskClient({ baseUrl: "http://api", apiKey: "k", fetch: fetchImpl });

    const error = await client
      .stopAndWait(id(1), { ...options, timeoutMs: 30, intervalMs: 5 })
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(StopTimeoutError);
    expect((error as StopTimeoutError).pending).toEqual([id(2)]);
    expect((error as StopTimeoutError).last.id).toBe(id(1));
  });

  it("waits out a 429 on a sub-execution", async () => {
    const { fetchImpl } = routedFetch({
      [`${url(1)}/stop`]: [() => json(200, node(1, "stopped", [2]))],
      [url(2)]: [
        () => json(429, { detail: "Too many requests, please retry" }, { "retry-after": "0.02" }),
        () => json(200, node(2, "stopped")),
      ],
    });
    const client = createTaskClient({ baseUrl: "http://api", apiKey: "k", fetch: fetchImpl });
    expect((await client.stopAndWait(id(1), options)).status).toBe("stopped");
  });
});

describe("stopAndWait", () => {
  it("polls Get Task until the task is terminal", async () => {
    const { fetchImpl, calls } = scriptedFetch(
      () => json(200, record("executing")),
      () => json(200, record("executing")),
      () => json(200, record("stopped")),
    );
    const client = createTaskClient({ baseUrl: "http://api/", apiKey: "k", fetch: fetchImpl });

    expect((await client.stopAndWait(TASK, { intervalMs: 1 })).status).toBe("stopped");
    expect(calls).toEqual([
      `POST http://api/v1/tasks/${TASK}/stop`,
      `GET http://api/v1/tasks/${TASK}`,
      `GET http://api/v1/tasks/${TASK}`,
    ]);
  });

  it("waits out a 503 while polling", async () => {
    const { fetchImpl } = scriptedFetch(
      () => json(200, record("executing")),
      () => json(503, { detail: "busy" }, { "retry-after": "0" }),
      () => json(200, record("completed")),
    );
    const client = createTaskClient({ baseUrl: "http://api", apiKey: "k", fetch: fetchImpl });
    expect((await client.stopAndWait(TASK, { intervalMs: 1 })).status).toBe("completed");
  });

  it("waits out a 429 while polling, for as long as Retry-After says", async () => {
    const { fetchImpl, calls } = scriptedFetch(
      () => json(200, record("executing")),
      () => json(429, { detail: "Too many requests, please retry" }, { "retry-after": "0.05" }),
      () => json(200, record("stopped")),
    );
    const client = createTaskClient({ baseUrl: "http://api", apiKey: "k", fetch: fetchImpl });
    const started = performance.now();
    expect((await client.stopAndWait(TASK, { intervalMs: 1 })).status).toBe("stopped");
    expect(calls).toHaveLength(3);
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
  });

  it("gives up with the last record it saw when the time runs out", async () => {
    const { fetchImpl } = scriptedFetch(...Array.from({ length: 50 }, () => () => json(200, record("executing"))));
    const client = createTaskClient({ baseUrl: "http://api", apiKey: "k", fetch: fetchImpl });
    const error = await client.stopAndWait(TASK, { timeoutMs: 30, intervalMs: 5 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StopTimeoutError);
    expect((error as StopTimeoutError).last.status).toBe("executing");
  });

  it("stops waiting when its signal aborts", async () => {
    const { fetchImpl } = scriptedFetch(() => json(200, record("executing")));
    const client = createTaskClient({ baseUrl: "http://api", apiKey: "k", fetch: fetchImpl });
    const controller = new AbortController();
    const waiting = client.stopAndWait(TASK, { intervalMs: 10_000, signal: controller.signal });
    setTimeout(() => controller.abort(new Error("user gave up")), 5);
    await expect(waiting).rejects.toThrow("user gave up");
  });

  it("surfaces a 5xx on the stop itself as a ServerError with Retry-After", async () => {
    const { fetchImpl } = scriptedFetch(() =>
      json(
        503,
        { detail: "Service temporarily unavailable, please retry" },
        { "retry-after": "2", "x-request-id": "r-1" },
      ),
    );
    const client = createTaskClient({ baseUrl: "http://api", apiKey: "k", fetch: fetchImpl });
    const error = await client.stopTask(TASK).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServerError);
    expect(error).toMatchObject({ status: 503, retryAfterSeconds: 2, requestId: "r-1" });
  });
});

describe("API Gateway's own answers as typed errors", () => {
  async function errorFor(response: Response) {
    const { fetchImpl } = scriptedFetch(() => response);
    return createTaskClient({ baseUrl: "http://api", apiKey: "k", fetch: fetchImpl })
      .stopTask(TASK)
      .catch((caught: unknown) => caught);
  }

  it("a 429 is a ThrottledError with its Retry-After and request id", async () => {
    const error = await errorFor(
      json(429, { detail: "Too many requests, please retry" }, { "retry-after": "1", "x-request-id": "r-429" }),
    );
    expect(error).toBeInstanceOf(ThrottledError);
    expect(error).toMatchObject({
      status: 429,
      retryAfterSeconds: 1,
      requestId: "r-429",
      detail: "Too many requests, please retry",
    });
  });

  it.each([502, 504])("a %i is a GatewayError (a ServerError) with the request id", async (status) => {
    const error = await errorFor(
      json(status, { detail: "Bad gateway: the service failed to answer" }, { "x-request-id": `r-${status}` }),
    );
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toBeInstanceOf(ServerError);
    expect(error).toMatchObject({ status, requestId: `r-${status}` });
  });

  it("the service's own 500 and 503 stay ServerErrors, not GatewayErrors", async () => {
    for (const status of [500, 503]) {
      const error = await errorFor(json(status, { detail: "x" }));
      expect(error).toBeInstanceOf(ServerError);
      expect(error).not.toBeInstanceOf(GatewayError);
    }
  });

  it("tells API Gateway's 404 for an unknown route from the service's 404 for an unknown task", async () => {
    expect(await errorFor(json(404, { detail: "Not Found" }))).toBeInstanceOf(RouteNotFoundError);
    expect(await errorFor(json(404, { detail: "Task not found" }))).toBeInstanceOf(TaskNotFoundError);
  });
});
