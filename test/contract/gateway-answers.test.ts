import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { LocalApiOptions } from "../../infra/local/server.js";
import { type GatewayResponseType, gatewayAnswerRows, MAX_REQUEST_BODY_BYTES } from "../../lib/resources.js";
import { synthesizeStage } from "../infra/synth.js";
import { useInProcessServers } from "../support/in-process-api.js";
import { type RawRequest, type RawResponse, rawHttpRequest } from "../support/raw-http.js";

/**
 * The deployed API and `npm start` give API Gateway's own answers the same way. One table
 * (lib/resources.ts `gatewayAnswers`), read row by row against both: the GatewayResponse the
 * synthesized template holds for the row, rendered as API Gateway would render it for the
 * request id and message of one real exchange, must be that exchange's answer from the local
 * server, byte for byte, with the same status and headers and no header the deployed API lacks.
 */

const KEY = `sk-gateway-contract-${randomUUID()}`;

// --- The deployed side: the synthesized template, and API Gateway's rendering of it ---------

interface GatewayResponseProperties {
  readonly ResponseType: string;
  readonly StatusCode?: string;
  readonly ResponseParameters?: Record<string, string>;
  readonly ResponseTemplates?: Record<string, string>;
}

const { template } = synthesizeStage("dev");
const deployed = new Map(
  Object.values(template.findResources("AWS::ApiGateway::GatewayResponse")).map((resource) => {
    const properties = resource.Properties as GatewayResponseProperties;
    return [properties.ResponseType, properties] as const;
  }),
);

/** What one exchange gives API Gateway's context variables. */
interface GatewayContext {
  readonly requestId: string;
  /** `$context.error.message`: what a catch-all caught. */
  readonly errorMessage?: string;
}

/**
 * A mapping template as API Gateway renders it, for the variables these templates may use; any
 * other reference or directive fails the test rather than passing through unrendered.
 */
function renderTemplate(mappingTemplate: string, context: GatewayContext): string {
  const rendered = mappingTemplate
    .replaceAll("$context.requestId", context.requestId)
    .replaceAll("$context.error.messageString", JSON.stringify(context.errorMessage ?? ""));
  if (/[$#]/.test(rendered)) throw new Error(`template uses something this test cannot render: ${mappingTemplate}`);
  return rendered;
}

/** A header mapping value: a quoted literal, or a context variable. */
function renderHeader(mapping: string, context: GatewayContext): string {
  if (mapping === "context.requestId") return context.requestId;
  const literal = /^'(.*)'$/.exec(mapping);
  if (literal?.[1] !== undefined) return literal[1];
  throw new Error(`header mapping this test cannot render: ${mapping}`);
}

// --- The local side: requests that make the local server give each row ----------------------

interface Exchange {
  /** The server to ask, by its options (throttling, a failing function...). */
  readonly server: Omit<Partial<LocalApiOptions>, "handlers"> & { handlers?: Partial<LocalApiOptions["handlers"]> };
  readonly requests: readonly RawRequest[];
  /** The answer this row is about: the last one. */
  readonly caught?: { readonly status: number; readonly message: string };
}

const withKey: [string, string][] = [["x-api-key", KEY]];
const stop = (id: string): RawRequest => ({ method: "POST", target: `/v1/tasks/${id}/stop`, headers: withKey });

/** For every row, what makes the local server give it; a row without an exchange fails the test. */
const exchanges: Record<GatewayResponseType, readonly Exchange[]> = {
  MISSING_AUTHENTICATION_TOKEN: [
    { server: {}, requests: [{ method: "GET", target: "/v2/tasks", headers: withKey }] },
    { server: {}, requests: [{ method: "GET", target: `/v1/tasks/${randomUUID()}/stop`, headers: withKey }] },
  ],
  THROTTLED: [
    { server: { throttling: { rateLimit: 0.01, burstLimit: 1 } }, requests: [stop(randomUUID()), stop(randomUUID())] },
  ],
  REQUEST_TOO_LARGE: [
    { server: {}, requests: [{ ...stop(randomUUID()), body: Buffer.alloc(MAX_REQUEST_BODY_BYTES + 1, 0x7b) }] },
  ],
  INTEGRATION_TIMEOUT: [
    {
      server: { handlers: { "stop-task": () => new Promise(() => undefined) }, integrationTimeoutMs: 50 },
      requests: [stop(randomUUID())],
    },
  ],
  INTEGRATION_FAILURE: [
    {
      server: { handlers: { "stop-task": () => Promise.reject(new Error("crashed")) }, onError: () => undefined },
      requests: [stop(randomUUID())],
    },
  ],
  DEFAULT_4XX: [
    {
      server: {},
      requests: [{ method: "POST", target: "/v1/tasks/a b/stop", headers: withKey }],
      caught: { status: 400, message: "Bad Request" },
    },
    {
      server: {},
      requests: [
        { method: "POST", target: `/v1/tasks/${randomUUID()}/stop`, headers: [["x-api-key", "k".repeat(20_000)]] },
      ],
      caught: { status: 431, message: "Request Header Fields Too Large" },
    },
  ],
  DEFAULT_5XX: [
    {
      server: { handlers: { "stop-task": async () => ({ body: "not a proxy response" }) }, onError: () => undefined },
      requests: [stop(randomUUID())],
      caught: { status: 502, message: "Internal server error" },
    },
  ],
};

/** Headers any HTTP server sends, which API Gateway sends its own versions of. */
const TRANSPORT_HEADERS = new Set(["date", "connection", "keep-alive", "content-length", "transfer-encoding"]);

const local = useInProcessServers(KEY);

async function exchange({ server, requests }: Exchange): Promise<RawResponse> {
  const api = await local.serve(server);
  let last: RawResponse | undefined;
  for (const request of requests) last = await rawHttpRequest(api.url, request);
  if (!last) throw new Error("an exchange needs a request");
  return last;
}

describe("gateway answers: the synthesized template and the local server, row by row", () => {
  it("have the same rows: the table's", () => {
    const types = gatewayAnswerRows()
      .map((row) => row.type)
      .sort();
    expect([...deployed.keys()].sort()).toEqual(types);
    expect(Object.keys(exchanges).sort()).toEqual(types);
  });

  it.each(
    gatewayAnswerRows().flatMap((row) =>
      exchanges[row.type].map((ex, index) => [`${row.type} #${index + 1}`, row.type, ex] as const),
    ),
  )("%s: same status, body and headers", async (_, type, ex) => {
    const properties = deployed.get(type);
    if (!properties) throw new Error(`no GatewayResponse for ${type} in the template`);
    const local = await exchange(ex);
    const context: GatewayContext = {
      requestId: local.headers["x-request-id"] ?? "",
      errorMessage: ex.caught?.message,
    };

    expect(context.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(local.status).toBe(Number(properties.StatusCode ?? ex.caught?.status));
    const [contentType, mappingTemplate] = Object.entries(properties.ResponseTemplates ?? {})[0] ?? [];
    expect(Object.keys(properties.ResponseTemplates ?? {})).toHaveLength(1);
    expect(local.headers["content-type"]).toBe(contentType);
    expect(local.body).toBe(renderTemplate(mappingTemplate ?? "", context));

    const deployedHeaders = Object.fromEntries(
      Object.entries(properties.ResponseParameters ?? {}).map(([name, mapping]) => [
        name.replace(/^gatewayresponse\.header\./, "").toLowerCase(),
        renderHeader(mapping, context),
      ]),
    );
    const localHeaders = Object.fromEntries(
      Object.entries(local.headers).filter(([name]) => !TRANSPORT_HEADERS.has(name) && name !== "content-type"),
    );
    expect(localHeaders).toEqual(deployedHeaders);
  });
});
