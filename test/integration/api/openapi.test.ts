import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { buildOpenApiDocument } from "../../../lib/http/openapi.js";
import { routes } from "../../../lib/resources.js";
import { anExecution } from "../../support/factories.js";
import { startInProcessApi, useInProcessApi } from "../../support/in-process-api.js";
import { putItem, storeApiKey } from "../../support/local-aws.js";
import { openApiResponseChecker, type RecordedResponse } from "../../support/openapi-responses.js";

const KEY = `sk-openapi-${randomUUID()}`;
const OTHER_KEY = `sk-openapi-b-${randomUUID()}`;
const served = useInProcessApi(KEY);

describe("the OpenAPI document", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const result = await new Validator().validate(buildOpenApiDocument());
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
  });

  it("describes every route of the route table with every status code of the reference", () => {
    const document = buildOpenApiDocument();
    for (const route of routes) {
      const operation = (document.paths[route.path] as Record<string, { responses: Record<string, unknown> }>)[
        route.method.toLowerCase()
      ];
      const statuses =
        route.operationId === "createBulkStop" ? ["200", "202", "401", "422"] : ["200", "401", "403", "404", "422"];
      expect(Object.keys(operation?.responses ?? {})).toEqual(expect.arrayContaining(statuses));
    }
    expect(document.components.securitySchemes.ApiKeyAuth).toEqual(
      expect.objectContaining({ type: "apiKey", in: "header", name: "x-api-key" }),
    );
  });

  it("lists API Gateway's own answers on every route: 413, 429 with Retry-After, 502 and 504, in the error shape", () => {
    const document = buildOpenApiDocument();
    for (const route of routes) {
      const operation = (
        document.paths[route.path] as Record<string, { responses: Record<string, Record<string, unknown>> }>
      )[route.method.toLowerCase()];
      for (const status of ["413", "429", "502", "504"]) {
        expect(operation?.responses[status], `${route.method} ${route.path} ${status}`).toMatchObject({
          headers: { "x-request-id": { $ref: "#/components/headers/RequestId" } },
          content: { "application/json": { schema: { $ref: "#/components/schemas/HTTPError" } } },
        });
      }
      expect(operation?.responses["429"]).toMatchObject({
        headers: { "retry-after": { schema: { type: "integer" } } },
      });
    }
  });

  it(
    "describes the stop routes' optional body, {reason} of 1 to 500 " +
      "characters, the limits route's required body, and no body on the others",
    () => {
      const document = buildOpenApiDocument();
      for (const route of routes) {
        const operation = (document.paths[route.path] as Record<string, { requestBody?: unknown }>)[
          route.method.toLowerCase()
        ];
        if (route.operationId === "setTaskLimits") {
          expect(operation?.requestBody, route.operationId).toMatchObject({
            required: true,
            content: { "application/json": { schema: { $ref: "#/components/schemas/TaskLimitsRequest" } } },
          });
        } else if (route.operationId === "createBulkStop") {
          expect(operation?.requestBody, route.operationId).toMatchObject({
            required: true,
            content: { "application/json": { schema: { $ref: "#/components/schemas/BulkStopRequest" } } },
          });
        } else if (route.functionName === "stop-task") {
          expect(operation?.requestBody, route.operationId).toMatchObject({
            required: false,
            content: { "application/json": { schema: { $ref: "#/components/schemas/StopTaskRequest" } } },
          });
        } else {
          expect(operation?.requestBody, route.operationId).toBeUndefined();
        }
      }
      expect(document.components.schemas.TaskLimitsRequest).toMatchObject({
        type: "object",
        properties: { max_tokens: { anyOf: [{ type: "integer", minimum: 0 }, { type: "null" }] } },
      });
      expect(document.components.schemas.StopTaskRequest).toMatchObject({
        type: "object",
        properties: { reason: { anyOf: [{ type: "string", minLength: 1, maxLength: 500 }, { type: "null" }] } },
      });
    },
  );

  it("is what npm run openapi last wrote (openapi.json is generated, never edited)", () => {
    expect(JSON.parse(readFileSync("openapi.json", "utf8"))).toEqual(
      JSON.parse(JSON.stringify(buildOpenApiDocument())),
    );
  });

  it("is served by the local server at /openapi.json", async () => {
    const response = await fetch(`${served.api.url}/openapi.json`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { openapi: string }).openapi).toBe("3.1.0");
  });
});

describe("real responses validate against the document", () => {
  it("for every status of every route", async () => {
    const running = anExecution({ organization_id: "org-a" });
    const foreign = anExecution({ organization_id: "org-b" });
    const finished = anExecution({
      organization_id: "org-a",
      status: "completed",
      finished_at: "2026-11-25T10:05:00.000Z",
      mcp_servers: [{ name: "m", type: "remote" }],
    });
    for (const execution of [running, foreign, finished])
      await putItem(served.aws.dynamoDb, served.aws.resources.tables.executions, execution);

    const check = openApiResponseChecker(buildOpenApiDocument());
    const recorded: RecordedResponse[] = [];
    for (const route of routes.filter((each) => each.functionName !== "bulk-stop")) {
      const cases: [string, string | undefined][] = [
        [running.id, KEY],
        [finished.id, KEY],
        [foreign.id, KEY],
        [randomUUID(), KEY],
        ["not-a-uuid", KEY],
        [running.id, undefined],
      ];
      for (const [taskId, key] of cases) {
        const response = await fetch(`${served.api.url}${route.path.replace("{task_id}", taskId)}`, {
          method: route.method,
          headers: key ? { "x-api-key": key } : {},
        });
        recorded.push({ method: route.method, path: route.path, status: response.status, body: await response.json() });
      }
    }

    // The bulk stop routes: a bulk stop of org-a, and one of org-b for the 403.
    const post = async (body: unknown, key: string | undefined, path = "/v1/stops") => {
      const response = await fetch(`${served.api.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(key ? { "x-api-key": key } : {}) },
        body: JSON.stringify(body),
      });
      const answer = { method: "POST", path: "/v1/stops", status: response.status, body: await response.json() };
      recorded.push(answer);
      return answer;
    };
    const own = await post({ scope: { agent_id: running.agent_id }, hold_seconds: 60 }, KEY);
    await post({ scope: { agent_id: running.agent_id }, dry_run: true }, KEY);
    await post({ scope: {} }, KEY);
    await post({ scope: { agent_id: running.agent_id } }, undefined);
    await storeApiKey(served.aws, { key: OTHER_KEY, organizationId: "org-b", keyId: "key-b" });
    const foreignStop = await post({ scope: { agent_id: foreign.agent_id } }, OTHER_KEY);
    for (const route of routes.filter((each) => each.functionName === "bulk-stop" && each.method !== "POST")) {
      const ownId = (own.body as { stop_id: string }).stop_id;
      const cases: [string, string | undefined][] = [
        [ownId, KEY],
        [(foreignStop.body as { stop_id: string }).stop_id, KEY],
        [randomUUID(), KEY],
        ["not-a-uuid", KEY],
        [ownId, undefined],
      ];
      for (const [stopId, key] of cases) {
        const response = await fetch(`${served.api.url}${route.path.replace("{stop_id}", stopId)}`, {
          method: route.method,
          headers: key ? { "x-api-key": key } : {},
        });
        recorded.push({ method: route.method, path: route.path, status: response.status, body: await response.json() });
      }
    }

    expect(new Set(recorded.map((response) => response.status))).toEqual(new Set([200, 202, 401, 403, 404, 422]));
    for (const response of recorded)
      expect(check(response), `${response.method} ${response.path} ${response.status}`).toEqual([]);
  });

  it("for API Gateway's answers on every route: throttled, failed and timed-out functions", async () => {
    const failing = async () => Promise.reject(new Error("crashed"));
    const silent = () => new Promise(() => undefined);
    const apis = await Promise.all([
      startInProcessApi(served.aws, { throttling: { rateLimit: 0, burstLimit: 0 } }),
      startInProcessApi(served.aws, {
        handlers: { "stop-task": failing, "get-task": failing, "bulk-stop": failing },
        onError: () => undefined,
      }),
      startInProcessApi(served.aws, {
        handlers: { "stop-task": silent, "get-task": silent, "bulk-stop": silent },
        integrationTimeoutMs: 20,
      }),
    ]);
    const check = openApiResponseChecker(buildOpenApiDocument());
    const recorded: RecordedResponse[] = [];
    try {
      for (const api of apis) {
        for (const route of routes) {
          const response = await fetch(`${api.url}${route.path.replace(/\{(task_id|stop_id)\}/, randomUUID())}`, {
            method: route.method,
            headers: { "x-api-key": KEY },
          });
          recorded.push({
            method: route.method,
            path: route.path,
            status: response.status,
            body: await response.json(),
          });
        }
      }
    } finally {
      await Promise.all(apis.map((api) => api.close()));
    }

    expect(new Set(recorded.map((response) => response.status))).toEqual(new Set([429, 502, 504]));
    for (const response of recorded)
      expect(check(response), `${response.method} ${response.path} ${response.status}`).toEqual([]);
  });
});
