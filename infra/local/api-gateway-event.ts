import { randomUUID } from "node:crypto";
import type { APIGatewayProxyEvent } from "aws-lambda";

export interface HttpRequestShape {
  readonly method: string;
  /** The request path as received, e.g. `/v1/tasks/123/stop`. */
  readonly path: string;
  /** The matched API Gateway resource, e.g. `/v1/tasks/{task_id}/stop`. */
  readonly resource: string;
  readonly pathParameters: Record<string, string> | null;
  /** Raw header pairs in arrival order; repeated names are kept, as API Gateway's multi-value headers do. */
  readonly rawHeaders: readonly (readonly [string, string])[];
  readonly query?: URLSearchParams;
  readonly body: string | null;
  readonly sourceIp?: string;
  readonly stage?: string;
  readonly requestId?: string;
}

/**
 * API Gateway keeps the last value of a name in the single-value map and all of them in the
 * multi-value one. Names are the caller's (`__proto__`, `constructor`), so they are collected in
 * Maps: on a plain object they would hit the prototype instead of becoming keys.
 */
function singleAndMultiValue(pairs: readonly (readonly [string, string])[]): {
  single: Record<string, string>;
  multi: Record<string, string[]>;
} {
  const multi = new Map<string, string[]>();
  for (const [name, value] of pairs) multi.set(name, [...(multi.get(name) ?? []), value]);
  return {
    single: Object.fromEntries([...multi].map(([name, values]) => [name, values.at(-1) ?? ""])),
    multi: Object.fromEntries(multi),
  };
}

/**
 * An API Gateway REST API (v1) Lambda proxy event, built the way API Gateway builds it: single-
 * and multi-value headers and query strings, and a request context with request id and stage.
 */
export function toApiGatewayProxyEvent(request: HttpRequestShape): APIGatewayProxyEvent {
  const { single: headers, multi: multiValueHeaders } = singleAndMultiValue(request.rawHeaders);
  const { single: queryStringParameters, multi: multiValueQueryStringParameters } = singleAndMultiValue([
    ...(request.query ?? []),
  ]);
  const hasQuery = Object.keys(queryStringParameters).length > 0;
  const stage = request.stage ?? "local";
  const requestId = request.requestId ?? randomUUID();
  const now = new Date();

  return {
    resource: request.resource,
    path: request.path,
    httpMethod: request.method,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? queryStringParameters : null,
    multiValueQueryStringParameters: hasQuery ? multiValueQueryStringParameters : null,
    pathParameters: request.pathParameters,
    stageVariables: null,
    body: request.body,
    isBase64Encoded: false,
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      authorizer: null,
      protocol: "HTTP/1.1",
      httpMethod: request.method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: request.sourceIp ?? "127.0.0.1",
        user: null,
        userAgent: headers["user-agent"] ?? null,
        userArn: null,
      },
      path: `/${stage}${request.path}`,
      stage,
      requestId,
      requestTimeEpoch: now.getTime(),
      resourceId: "local",
      resourcePath: request.resource,
    },
  };
}
