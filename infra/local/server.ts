import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import { type CaughtRefusal, gatewayAnswerResponse } from "../../lib/http/gateway-answers.js";
import { REQUEST_ID_HEADER } from "../../lib/http/responses.js";
import {
  type GatewayResponseType,
  gatewayAnswers,
  INTEGRATION_TIMEOUT_SECONDS,
  MAX_REQUEST_BODY_BYTES,
  type RouteDefinition,
  type RouteFunctionName,
  routes,
} from "../../lib/resources.js";
import { stageSettings } from "../stages.js";
import { toApiGatewayProxyEvent } from "./api-gateway-event.js";
import { localLambdaContext } from "./lambda-context.js";
import { createTokenBucket, type Throttling } from "./throttle.js";

/**
 * Serves the route table the way API Gateway's REST API would: each request becomes a REST
 * proxy event for the real Lambda handler, and the handler's result becomes the response. What
 * API Gateway answers itself (lib/resources.ts `gatewayAnswers`: unknown routes, throttling, a
 * body over its limit, a function that fails or does not answer) is answered here from the
 * same rows, in the same status, body and headers.
 */

export type ProxyHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<unknown>;

/** The message API Gateway gives with its own internal errors, which the 5XX catch-all carries. */
const INTERNAL_ERROR: CaughtRefusal = { status: 500, message: "Internal server error" };

interface CompiledRoute {
  readonly route: RouteDefinition;
  readonly pattern: RegExp;
  readonly parameterNames: readonly string[];
}

function compile(route: RouteDefinition): CompiledRoute {
  const parameterNames: string[] = [];
  const source = route.path
    .split("/")
    .map((segment) => {
      const parameter = /^\{(\w+)\}$/.exec(segment);
      if (!parameter?.[1]) return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      parameterNames.push(parameter[1]);
      return "([^/]+)";
    })
    .join("/");
  return { route, pattern: new RegExp(`^${source}/?$`), parameterNames };
}

/**
 * The request target as a URL. An origin-form target is a path even when it starts with `//`:
 * resolved against a base, `//other/v1/...` would lose `other` to the host and reach a route.
 */
function requestUrl(target: string): URL {
  return target.startsWith("/") ? new URL(`http://localhost${target}`) : new URL(target, "http://localhost");
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The whole body is read (so the connection stays usable), but only up to the limit is kept. */
async function readBody(
  request: IncomingMessage,
): Promise<{ readonly text: string | null; readonly tooLarge: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size <= MAX_REQUEST_BODY_BYTES) chunks.push(buffer);
  }
  if (size > MAX_REQUEST_BODY_BYTES) return { text: null, tooLarge: true };
  return { text: size === 0 ? null : Buffer.concat(chunks).toString("utf8"), tooLarge: false };
}

function rawHeaderPairs(request: IncomingMessage): [string, string][] {
  const pairs: [string, string][] = [];
  for (let index = 0; index + 1 < request.rawHeaders.length; index += 2) {
    pairs.push([request.rawHeaders[index] ?? "", request.rawHeaders[index + 1] ?? ""]);
  }
  return pairs;
}

/** Writes a handler's result; a response without a request id (a static document) gets the server's. */
function send(response: ServerResponse, result: APIGatewayProxyResult, requestId: string): void {
  response.writeHead(result.statusCode, {
    [REQUEST_ID_HEADER]: requestId,
    ...(result.headers as Record<string, string> | undefined),
  });
  response.end(result.body);
}

/**
 * Whether a function's result is a REST proxy response API Gateway can use; for anything else
 * (no status, a body that is not a string) it answers 502 "Internal server error".
 */
function isProxyResult(value: unknown): value is APIGatewayProxyResult {
  if (typeof value !== "object" || value === null) return false;
  const { statusCode, body, headers } = value as Record<string, unknown>;
  return (
    typeof statusCode === "number" &&
    Number.isInteger(statusCode) &&
    statusCode >= 100 &&
    statusCode <= 599 &&
    (body === undefined || typeof body === "string") &&
    (headers === undefined || (typeof headers === "object" && headers !== null))
  );
}

type Invocation =
  | { readonly kind: "answered"; readonly result: unknown }
  | { readonly kind: "failed"; readonly error: unknown }
  | { readonly kind: "timed_out" };

/**
 * Runs a function as API Gateway's integration does: its result, its failure, or a timeout once
 * `timeoutMs` has passed. A function that times out keeps running, as a Lambda does; a failure
 * after the timeout is still reported.
 */
async function invoke(
  run: () => Promise<unknown>,
  timeoutMs: number,
  onLateFailure: (error: unknown) => void,
): Promise<Invocation> {
  const ran: Promise<Invocation> = Promise.resolve()
    .then(run)
    .then(
      (result) => ({ kind: "answered", result }),
      (error: unknown) => ({ kind: "failed", error }),
    );
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<Invocation>((resolve) => {
    timer = setTimeout(() => resolve({ kind: "timed_out" }), timeoutMs);
  });
  try {
    const first = await Promise.race([ran, timedOut]);
    if (first.kind === "timed_out") void ran.then((late) => late.kind === "failed" && onLateFailure(late.error));
    return first;
  } finally {
    clearTimeout(timer);
  }
}

export interface LocalApiOptions {
  /** Each route function's handler; a route whose function is absent fails as an invocation the Lambda API refused. */
  readonly handlers: Readonly<Partial<Record<RouteFunctionName, ProxyHandler>>>;
  readonly stage?: string;
  /** Extra fixed responses, e.g. documents served next to the API (neither throttled nor routed). */
  readonly staticRoutes?: Readonly<Record<string, () => APIGatewayProxyResult>>;
  readonly onError?: (error: unknown) => void;
  /** Stage throttling, enforced as API Gateway enforces it; npm start's `local` stage when absent. */
  readonly throttling?: Throttling;
  /** How long a function may take before the 504; API Gateway's integration timeout when absent. */
  readonly integrationTimeoutMs?: number;
}

/**
 * Requests Node's HTTP parser refuses before any route sees them (malformed request line or
 * header, header section over the size limit) still get the service's error shape and a request
 * id, as API Gateway answers its own refusals (the 4XX catch-all), rather than Node's bare status line.
 */
function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable || error.code === "ECONNRESET") {
    socket.destroy();
    return;
  }
  const status = error.code === "HPE_HEADER_OVERFLOW" ? 431 : 400;
  const { statusCode, headers, body } = gatewayAnswerResponse(gatewayAnswers.DEFAULT_4XX, randomUUID(), {
    status,
    message: STATUS_CODES[status] ?? "Bad Request",
  });
  const head = [
    `HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode] ?? ""}`,
    ...Object.entries(headers ?? {}).map(([name, value]) => `${name}: ${value}`),
    `content-length: ${Buffer.byteLength(body)}`,
    "connection: close",
  ];
  socket.end(`${head.join("\r\n")}\r\n\r\n${body}`);
}

export function createLocalApi(options: LocalApiOptions): Server {
  const compiled = (routes as readonly RouteDefinition[]).map(compile);
  const mayPass = createTokenBucket(options.throttling ?? stageSettings.local.throttling);
  const integrationTimeoutMs = options.integrationTimeoutMs ?? INTEGRATION_TIMEOUT_SECONDS * 1000;
  const reportError = (error: unknown) => options.onError?.(error);

  const server = createServer(async (request, response) => {
    const requestId = randomUUID();
    const answer = (type: GatewayResponseType, caught?: CaughtRefusal) =>
      send(response, gatewayAnswerResponse(gatewayAnswers[type], requestId, caught), requestId);
    try {
      const url = requestUrl(request.url ?? "/");
      const method = (request.method ?? "GET").toUpperCase();
      const body = await readBody(request);

      const fixed = options.staticRoutes?.[url.pathname];
      if (fixed && method === "GET") return send(response, fixed(), requestId);

      if (!mayPass()) return answer("THROTTLED");
      if (body.tooLarge) return answer("REQUEST_TOO_LARGE");

      // A REST API has no 405: another method on a known path is as unknown as an unknown path.
      let hit: { candidate: CompiledRoute; match: RegExpExecArray } | undefined;
      for (const candidate of compiled) {
        const match = candidate.route.method === method ? candidate.pattern.exec(url.pathname) : null;
        if (match) {
          hit = { candidate, match };
          break;
        }
      }
      if (!hit) return answer("MISSING_AUTHENTICATION_TOKEN");

      const { candidate, match } = hit;
      const pathParameters = Object.fromEntries(
        candidate.parameterNames.map((name, index) => [name, decodeSegment(match[index + 1] ?? "")]),
      );
      const event = toApiGatewayProxyEvent({
        method,
        path: url.pathname,
        resource: candidate.route.path,
        pathParameters: candidate.parameterNames.length > 0 ? pathParameters : null,
        rawHeaders: rawHeaderPairs(request),
        query: url.searchParams,
        body: body.text,
        sourceIp: request.socket.remoteAddress ?? "127.0.0.1",
        stage: options.stage ?? "local",
        requestId,
      });
      const functionName = candidate.route.functionName as RouteFunctionName;
      const handler = options.handlers[functionName] as ProxyHandler | undefined;
      // Like the Lambda API refusing the invocation: API Gateway's own 500 (the 5XX catch-all, below).
      if (!handler) throw new Error(`no function ${functionName} to invoke`);

      const invocation = await invoke(
        () => handler(event, localLambdaContext(functionName)),
        integrationTimeoutMs,
        reportError,
      );
      if (invocation.kind === "timed_out") return answer("INTEGRATION_TIMEOUT");
      if (invocation.kind === "failed") {
        reportError(invocation.error);
        return answer("INTEGRATION_FAILURE");
      }
      if (!isProxyResult(invocation.result)) {
        reportError(new Error(`${functionName} returned something other than a proxy response`));
        // API Gateway logs this as a configuration error, and answers 502 "Internal server error".
        return answer("DEFAULT_5XX", { status: 502, message: INTERNAL_ERROR.message });
      }
      send(response, invocation.result, requestId);
    } catch (error) {
      reportError(error);
      if (!response.headersSent) answer("DEFAULT_5XX", INTERNAL_ERROR);
      else response.end();
    }
  });
  server.on("clientError", answerClientError);
  return server;
}
