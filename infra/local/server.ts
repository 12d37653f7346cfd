import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, STATUS_CODES, type Server, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import { httpResponses, REQUEST_ID_HEADER } from "../../lib/http/responses.js";
import { type RouteDefinition, type RouteFunctionName, routes } from "../../lib/resources.js";
import { toApiGatewayProxyEvent } from "./api-gateway-event.js";
import { localLambdaContext } from "./lambda-context.js";

/**
 * Serves the route table the way API Gateway's REST API would: each request becomes a REST
 * proxy event for the real Lambda handler, and the handler's result becomes the response.
 */

export type ProxyHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<unknown>;

/** API Gateway's own payload limit; larger bodies are cut, since no route reads a body. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

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


async function readBody(request: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    if (size < MAX_BODY_BYTES) chunks.push(buffer);
    size += buffer.length;
  }
  return size === 0 ? null : Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString("utf8");
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
  response.writeHead(result.statusCode, { [REQUEST_ID_HEADER]: requestId, ...(result.headers as Record<string, string> | undefined) });
  response.end(result.body);
}

export interface LocalApiOptions {
  readonly handlers: Readonly<Record<RouteFunctionName, ProxyHandler>>;
  readonly stage?: string;
  /** Extra fixed responses, e.g. documents served next to the API. */
  readonly staticRoutes?: Readonly<Record<string, () => APIGatewayProxyResult>>;
  readonly onError?: (error: unknown) => void;
}

/**
 * Requests Node's HTTP parser refuses before any route sees them (malformed request line or
 * header, header section over the size limit) still get the service's error shape and a request
 * id, as API Gateway answers them at its edge, rather than Node's bare status line.
 */
function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable || error.code === "ECONNRESET") {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === "HPE_HEADER_OVERFLOW";
  const { statusCode, headers, body } = tooLarge ? httpResponses.headersTooLarge(randomUUID()) : httpResponses.badRequest(randomUUID());
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

  const server = createServer(async (request, response) => {
    const requestId = randomUUID();
    try {
      const url = requestUrl(request.url ?? "/");
      const method = (request.method ?? "GET").toUpperCase();
      const body = await readBody(request);

      const fixed = options.staticRoutes?.[url.pathname];
      if (fixed && method === "GET") return send(response, fixed(), requestId);

      const matches = compiled.flatMap((candidate) => {
        const match = candidate.pattern.exec(url.pathname);
        return match ? [{ candidate, match }] : [];
      });
      if (matches.length === 0) return send(response, httpResponses.routeNotFound(requestId), requestId);
      const hit = matches.find(({ candidate }) => candidate.route.method === method);
      if (!hit) {
        return send(response, httpResponses.methodNotAllowed(requestId, matches.map(({ candidate }) => candidate.route.method)), requestId);
      }

      const pathParameters = Object.fromEntries(
        hit.candidate.parameterNames.map((name, index) => [name, decodeSegment(hit.match[index + 1] ?? "")]),
      );
      const event = toApiGatewayProxyEvent({
        method,
        path: url.pathname,
        resource: hit.candidate.route.path,
        pathParameters: hit.candidate.parameterNames.length > 0 ? pathParameters : null,
        rawHeaders: rawHeaderPairs(request),
        query: url.searchParams,
        body,
        sourceIp: request.socket.remoteAddress ?? "127.0.0.1",
        stage: options.stage ?? "local",
        requestId,
      });
      const functionName = hit.candidate.route.functionName as RouteFunctionName;
      const result = (await options.handlers[functionName](event, localLambdaContext(functionName))) as APIGatewayProxyResult;
      send(response, result, requestId);
    } catch (error) {
      options.onError?.(error);
      // API Gateway answers a failed integration with a 502; say it in the service's error shape.
      if (!response.headersSent) send(response, { ...httpResponses.internalError(requestId), statusCode: 502 }, requestId);
      else response.end();
    }
  });
  server.on("clientError", answerClientError);
  return server;
}
