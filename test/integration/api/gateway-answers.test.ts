import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { ProxyHandler } from "../../../infra/local/server.js";
import { createTaskClient, GatewayError, RouteNotFoundError, ThrottledError } from "../../../lib/client.js";
import { type GatewayResponseType, gatewayAnswers, MAX_REQUEST_BODY_BYTES } from "../../../lib/resources.js";
import { anExecution } from "../../support/factories.js";
import { type InProcessApi, useInProcessServers } from "../../support/in-process-api.js";
import { drainQueue, getStoredItem, putItem, workerQueueUrl } from "../../support/local-aws.js";
import { stopTaskHarness } from "../../support/stop-task-harness.js";

/**
 * What the local server answers before, or instead of, a function (lib/resources.ts
 * `gatewayAnswers`), over the real handlers and the emulators; a function's failure or slowness
 * is injected by wrapping or replacing the real handler. test/contract/gateway-answers.test.ts
 * checks the same answers against the synthesized template, byte for byte.
 */

const KEY = `sk-gateway-${randomUUID()}`;
const REQUEST_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const local = useInProcessServers(KEY);
const serve = local.serve;

async function seed(overrides: Parameters<typeof anExecution>[0] = {}) {
  const execution = anExecution({ organization_id: "org-a", status: "executing", ...overrides });
  await putItem(local.aws.dynamoDb, local.aws.resources.tables.executions, execution);
  return execution;
}

async function storedStatus(id: string) {
  return (await getStoredItem(local.aws.dynamoDb, local.aws.resources.tables.executions, id))?.status;
}

function call(api: InProcessApi, method: string, path: string, body?: Buffer) {
  return fetch(`${api.url}${path}`, { method, headers: { "x-api-key": KEY }, ...(body ? { body } : {}) });
}

/** The row's status, `{"detail": ...}`, JSON, a fresh request id, and Retry-After where the row has one. */
async function expectAnswer(
  response: Response,
  type: GatewayResponseType,
  caught?: { status: number; message: string },
) {
  const row = gatewayAnswers[type];
  expect(response.status).toBe("status" in row ? row.status : caught?.status);
  expect(response.headers.get("content-type")).toBe("application/json");
  expect(response.headers.get("x-request-id")).toMatch(REQUEST_ID);
  expect(response.headers.get("retry-after")).toBe("retryAfterSeconds" in row ? String(row.retryAfterSeconds) : null);
  expect(await response.json()).toEqual({ detail: typeof row.detail === "string" ? row.detail : caught?.message });
  return response.headers.get("x-request-id");
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const slowly =
  (handler: ProxyHandler, ms: number): ProxyHandler =>
  async (event, context) => {
    await sleep(ms);
    return handler(event, context);
  };

describe("the local server answers as the deployed API's gateway responses do", () => {
  it("gives an unknown path and another method on a known path the same 404 Not Found, with no Allow, and runs nothing", async () => {
    const api = await serve();
    const running = await seed();

    await expectAnswer(await call(api, "GET", "/v2/tasks"), "MISSING_AUTHENTICATION_TOKEN");
    const wrongMethods = await Promise.all([
      call(api, "GET", `/v1/tasks/${running.id}/stop`),
      call(api, "PUT", `/v1/tasks/${running.id}/stop`),
      call(api, "POST", `/agent-execution/${running.id}/status`),
    ]);
    for (const response of wrongMethods) {
      expect(response.headers.get("allow")).toBeNull();
      await expectAnswer(response, "MISSING_AUTHENTICATION_TOKEN");
    }
    expect(await storedStatus(running.id)).toBe("executing");
  });

  it("throttles past the stage's burst with 429 and Retry-After, doing nothing, and lets requests through as tokens refill", async () => {
    const api = await serve({ throttling: { rateLimit: 2, burstLimit: 2 } });
    const running = await seed();

    const responses = await Promise.all(
      Array.from({ length: 4 }, () => call(api, "POST", `/v1/tasks/${running.id}/stop`)),
    );

    expect(responses.map((response) => response.status).sort()).toEqual([200, 200, 429, 429]);
    const requestIds = await Promise.all(
      responses.filter((response) => response.status === 429).map((response) => expectAnswer(response, "THROTTLED")),
    );
    expect(new Set(requestIds).size).toBe(2);
    expect(await drainQueue(local.aws.sqs, workerQueueUrl(local.aws), { waitSeconds: 1 })).toHaveLength(1);
    await sleep(600); // one token refills every 500 ms at 2 a second
    expect((await call(api, "GET", `/v1/tasks/${running.id}`)).status).toBe(200);
  });

  it("refuses a body over API Gateway's 10 MB with 413 before the function runs; exactly 10 MB reaches it", async () => {
    const api = await serve();
    const running = await seed();

    await expectAnswer(
      await call(api, "POST", `/v1/tasks/${running.id}/stop`, Buffer.alloc(MAX_REQUEST_BODY_BYTES + 1, 0x61)),
      "REQUEST_TOO_LARGE",
    );
    expect(await storedStatus(running.id)).toBe("executing");
    expect(await drainQueue(local.aws.sqs, workerQueueUrl(local.aws))).toEqual([]);

    // A JSON body (the stop reads one) of exactly the limit: `{"pad":"aaa...a"}`.
    const padded = Buffer.alloc(MAX_REQUEST_BODY_BYTES, 0x61);
    padded.write('{"pad":"', 0);
    padded.write('"}', MAX_REQUEST_BODY_BYTES - 2);
    const atTheLimit = await call(api, "POST", `/v1/tasks/${randomUUID()}/stop`, padded);
    expect(atTheLimit.status).toBe(404);
    expect(await atTheLimit.json()).toEqual({ detail: "Task not found" });
  });

  it("answers a function that throws with 502, reporting the error but never showing it", async () => {
    const reported: unknown[] = [];
    const crash = new Error("stop-task crashed: secret internals");
    const api = await serve({
      handlers: { "stop-task": async () => Promise.reject(crash) },
      onError: (error) => reported.push(error),
    });

    const response = await call(api, "POST", `/v1/tasks/${randomUUID()}/stop`);
    const text = await response.clone().text();

    await expectAnswer(response, "INTEGRATION_FAILURE");
    expect(text).not.toContain("secret internals");
    expect(reported).toEqual([crash]);
  });

  it("answers 504 when the function outlasts the integration timeout; the stop itself still happens, as in AWS", async () => {
    const running = await seed();
    const api = await serve({
      handlers: { "stop-task": slowly(stopTaskHarness(local.aws).handler as ProxyHandler, 1_000) },
      integrationTimeoutMs: 100,
    });

    const started = performance.now();
    const response = await call(api, "POST", `/v1/tasks/${running.id}/stop`);

    expect(performance.now() - started).toBeLessThan(1_000);
    await expectAnswer(response, "INTEGRATION_TIMEOUT");
    // A 504 says nothing of whether the stop took effect: here it did, after the answer.
    const messages = await drainQueue(local.aws.sqs, workerQueueUrl(local.aws), { waitSeconds: 5 });
    expect(messages.map((message) => JSON.parse(message.Body ?? "{}").task_id)).toEqual([running.id]);
    expect(await storedStatus(running.id)).toBe("stopped");
  });

  it("answers a result that is not a proxy response with 502 Internal server error, through the 5XX catch-all", async () => {
    const reported: unknown[] = [];
    const api = await serve({
      handlers: { "get-task": async () => ({ body: "no status" }) },
      onError: (error) => reported.push(error),
    });

    await expectAnswer(await call(api, "GET", `/v1/tasks/${randomUUID()}`), "DEFAULT_5XX", {
      status: 502,
      message: "Internal server error",
    });
    expect(reported).toHaveLength(1);
  });

  it("answers a route whose function cannot be invoked with 500 Internal server error, through the 5XX catch-all", async () => {
    const api = await serve({ handlers: { "get-task": undefined } });
    await expectAnswer(await call(api, "GET", `/v1/tasks/${randomUUID()}`), "DEFAULT_5XX", {
      status: 500,
      message: "Internal server error",
    });
  });
});

describe("the typed client meets the gateway's answers as typed errors, each with the request id", () => {
  it("ThrottledError for a 429, with its Retry-After", async () => {
    const finished = await seed({ status: "completed", finished_at: "2026-11-25T10:05:00.000Z" });
    const api = await serve({ throttling: { rateLimit: 0.01, burstLimit: 1 } });
    const client = createTaskClient({ baseUrl: api.url, apiKey: KEY });

    expect((await client.getTask(finished.id)).status).toBe("completed");
    const error = await client.getTask(finished.id).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ThrottledError);
    expect(error).toMatchObject({
      status: 429,
      retryAfterSeconds: 1,
      detail: gatewayAnswers.THROTTLED.detail,
      requestId: expect.stringMatching(REQUEST_ID),
    });
  });

  it("GatewayError for the 502 of a failed function", async () => {
    const api = await serve({ handlers: { "stop-task": async () => Promise.reject(new Error("crashed")) } });
    const error = await createTaskClient({ baseUrl: api.url, apiKey: KEY })
      .stopTask(randomUUID())
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({
      status: 502,
      detail: gatewayAnswers.INTEGRATION_FAILURE.detail,
      requestId: expect.stringMatching(REQUEST_ID),
    });
  });

  it("GatewayError for the 504 of a function that did not answer in time", async () => {
    const api = await serve({ handlers: { "get-task": () => new Promise(() => undefined) }, integrationTimeoutMs: 50 });
    const error = await createTaskClient({ baseUrl: api.url, apiKey: KEY })
      .getTask(randomUUID())
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({
      status: 504,
      detail: gatewayAnswers.INTEGRATION_TIMEOUT.detail,
      requestId: expect.stringMatching(REQUEST_ID),
    });
  });

  it("RouteNotFoundError, not TaskNotFoundError, when the base URL is wrong", async () => {
    const api = await serve();
    const error = await createTaskClient({ baseUrl: `${api.url}/dev`, apiKey: KEY })
      .getTask(randomUUID())
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(RouteNotFoundError);
    expect(error).toMatchObject({ status: 404, requestId: expect.stringMatching(REQUEST_ID) });
  });
});
