import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import { httpResponses } from "../../lib/http/responses.js";
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

function send(response: ServerResponse, result: APIGatewayProxyResult): void {
  response.writeHead(result.statusCode, { ...(result.headers as Record<string, string> | undefined) });
  response.end(result.body);
}

export interface LocalApiOptions {
  readonly handlers: Readonly<Record<RouteFunctionName, ProxyHandler>>;
  readonly stage?: string;
  /** Extra fixed responses, e.g. documents served next to the API. */
  readonly staticRoutes?: Readonly<Record<string, () => APIGatewayProxyResult>>;
  readonly onError?: (error: unknown) => void;
}

export function createLocalApi(options: LocalApiOptions): Server {
  const compiled = (routes as readonly RouteDefinition[]).map(compile);

  return createServer(async (request, response) => {
    const requestId = randomUUID();
    try {
      const url = new URL(request.url ?? "/", "http://localhost");
      const method = (request.method ?? "GET").toUpperCase();
      const body = await readBody(request);

      const fixed = options.staticRoutes?.[url.pathname];
      if (fixed && method === "GET") return send(response, fixed());

      const matches = compiled.flatMap((candidate) => {
        const match = candidate.pattern.exec(url.pathname);
        return match ? [{ candidate, match }] : [];
      });
      if (matches.length === 0) return send(response, httpResponses.routeNotFound(requestId));
      const hit = matches.find(({ candidate }) => candidate.route.method === method);
      if (!hit) {
        return send(response, httpResponses.methodNotAllowed(requestId, matches.map(({ candidate }) => candidate.route.method)));
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
      send(response, result);
    } catch (error) {
      options.onError?.(error);
      // API Gateway answers a failed integration with a 502; say it in the service's error shape.
      if (!response.headersSent) send(response, { ...httpResponses.internalError(requestId), statusCode: 502 });
      else response.end();
    }
  });
}
