import { randomUUID } from "node:crypto";
import { type AttributeValue, ScanCommand } from "@aws-sdk/client-dynamodb";
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import * as fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anExecution, FACTORY_WORKER_ID } from "../../support/factories.js";
import { type InProcessApi, startInProcessApi } from "../../support/in-process-api.js";
import {
  environmentQueueUrl,
  type LocalAws,
  provisionIsolatedStack,
  putItem,
  storeApiKey,
  workerQueueUrl,
} from "../../support/local-aws.js";
import { type RawRequest, type RawResponse, rawHttpRequest } from "../../support/raw-http.js";

/**
 * Hostile input through the local server, over raw sockets so that what goes on the wire is
 * exactly what a hostile client could send. Whatever comes in: only documented statuses, never a
 * 5xx, never an internal detail, always a request id, and nothing stored or sent unless the
 * request succeeded.
 */

/**
 * Every status a route answers with (README "Behaviour"), plus API Gateway's 404 for an unknown
 * route or another method on a known one (a REST API has no 405).
 */
const DOCUMENTED_STATUSES = [200, 401, 403, 404, 422] as const;
/** Refusals of the HTTP edge itself, for requests that are not valid HTTP/1.1 or exceed the header limit. */
const EDGE_STATUSES = [400, 431] as const;

/** The only bodies a refusal may carry. */
/**
 * Every 422 the API gives: a malformed task id, a malformed stop body (the stop routes read one,
 * lib/http/stop-request-body.ts), or both at once, task id first.
 */
function validationErrorBodies(): unknown[] {
  const taskId = { loc: ["path", "task_id"], msg: "Input should be a valid UUID", type: "uuid_parsing" };
  const body = [
    { loc: ["body"], msg: "JSON decode error", type: "json_invalid" },
    {
      loc: ["body"],
      msg: "Input should be a valid dictionary or object to extract fields from",
      type: "model_attributes_type",
    },
    { loc: ["body", "reason"], msg: "Input should be a valid string", type: "string_type" },
    { loc: ["body", "reason"], msg: "String should have at least 1 character", type: "string_too_short" },
    { loc: ["body", "reason"], msg: "String should have at most 500 characters", type: "string_too_long" },
  ];
  return [{ detail: [taskId] }, ...body.flatMap((issue) => [{ detail: [issue] }, { detail: [taskId, issue] }])];
}

const ERROR_BODIES: Readonly<Record<number, readonly unknown[]>> = {
  400: [{ detail: "Bad Request" }],
  401: [{ detail: "Invalid or missing API key" }],
  403: [{ detail: "Task belongs to a different organization" }],
  404: [{ detail: "Task not found" }, { detail: "Not Found" }],
  422: validationErrorBodies(),
  431: [{ detail: "Request Header Fields Too Large" }],
};

/** Signs of an internal detail escaping: stack frames, error names, file paths, AWS error types. */
const LEAK_PATTERNS = [
  /\bat \S+ \(/,
  /^\s+at /m,
  /Error:/,
  /Exception/,
  /node_modules/,
  /\/work\//,
  /file:\/\//,
  /\.[cm]?[jt]s:\d+/,
  /stack/i,
];

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] as const;

const keys = {
  orgA: `sk-hostile-a-${randomUUID()}`,
  orgB: `sk-hostile-b-${randomUUID()}`,
  revoked: `sk-hostile-revoked-${randomUUID()}`,
  expired: `sk-hostile-expired-${randomUUID()}`,
} as const;
const organizationOfValidKey: ReadonlyMap<string, string> = new Map([
  [keys.orgA, "org-a"],
  [keys.orgB, "org-b"],
]);

const executions = {
  running: anExecution({ organization_id: "org-a", status: "executing" }),
  selfHosted: anExecution({ organization_id: "org-a", status: "paused", environment_id: "env-hostile" }),
  otherOrganization: anExecution({ organization_id: "org-b", status: "executing" }),
  completed: anExecution({ organization_id: "org-a", status: "completed", finished_at: "2026-11-25T10:05:00.000Z" }),
};
const seededIds = Object.values(executions).map((execution) => execution.id);

let aws: LocalAws;
let api: InProcessApi;

beforeAll(async () => {
  aws = await provisionIsolatedStack({ workers: [FACTORY_WORKER_ID], environments: ["env-hostile"] });
  await Promise.all([
    storeApiKey(aws, { key: keys.orgA, organizationId: "org-a", keyId: "key-hostile-a" }),
    storeApiKey(aws, { key: keys.orgB, organizationId: "org-b", keyId: "key-hostile-b" }),
    storeApiKey(aws, { key: keys.revoked, organizationId: "org-a", keyId: "key-hostile-revoked", status: "revoked" }),
    storeApiKey(aws, {
      key: keys.expired,
      organizationId: "org-a",
      keyId: "key-hostile-expired",
      expiresAt: "2020-01-01T00:00:00.000Z",
    }),
    ...Object.values(executions).map((execution) => putItem(aws.dynamoDb, aws.resources.tables.executions, execution)),
  ]);
  api = await startInProcessApi(aws);
});

afterAll(async () => {
  await api?.close();
});

// --- What a request may change -----------------------------------------------------------------

interface Snapshot {
  readonly executions: ReadonlyMap<string, string>;
  readonly apiKeys: readonly string[];
  readonly queueDepths: readonly number[];
}

async function scanAll(tableName: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let exclusiveStartKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await aws.dynamoDb.send(
      new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: exclusiveStartKey }),
    );
    items.push(...(page.Items ?? []).map((item) => unmarshall(item)));
    exclusiveStartKey = page.LastEvaluatedKey;
  } while (exclusiveStartKey);
  return items;
}

async function queueDepth(queueUrl: string): Promise<number> {
  const { Attributes = {} } = await aws.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
      ],
    }),
  );
  return Object.values(Attributes).reduce((sum, value) => sum + Number(value), 0);
}

async function snapshot(): Promise<Snapshot> {
  const { tables, signal_channels: channels } = aws.resources;
  const [executionItems, apiKeyItems, ...queueDepths] = await Promise.all([
    scanAll(tables.executions),
    scanAll(tables.api_keys),
    ...[
      workerQueueUrl(aws),
      environmentQueueUrl(aws, "env-hostile"),
      channels.workers.dead_letter_url,
      channels.environments.dead_letter_url,
    ].map(queueDepth),
  ]);
  return {
    executions: new Map(executionItems.map((item) => [String(item.id), JSON.stringify(item)])),
    apiKeys: apiKeyItems.map((item) => JSON.stringify(item)).sort(),
    queueDepths,
  };
}

function changedExecutionIds(before: Snapshot, after: Snapshot): string[] {
  const ids = new Set([...before.executions.keys(), ...after.executions.keys()]);
  return [...ids].filter((id) => before.executions.get(id) !== after.executions.get(id));
}

// --- One exchange, and what must hold for every one --------------------------------------------

const seenRequestIds = new Set<string>();

function presentedApiKeys(request: RawRequest): string[] {
  return (request.headers ?? [])
    .filter(([name]) => name.toLowerCase() === "x-api-key")
    .map(([, value]) => String(value));
}

function describeRequest(request: RawRequest): string {
  const headers = (request.headers ?? []).map(([name, value]) => `${name}: ${String(value).slice(0, 60)}`);
  return `${request.method} ${request.target.slice(0, 120)} [${headers.join(" | ")}] body ${request.body?.length ?? 0} B`;
}

/**
 * Sends the request and checks what holds for every response; returns it for case-specific checks.
 * `allowed` is the set of statuses this request may get.
 */
async function exchange(request: RawRequest, allowed: readonly number[] = DOCUMENTED_STATUSES): Promise<RawResponse> {
  const before = await snapshot();
  const response = await rawHttpRequest(api.url, request);
  const after = await snapshot();
  const context = describeRequest(request);

  expect(allowed, context).toContain(response.status);
  expect(response.status, context).toBeLessThan(500);

  const requestId = response.headers["x-request-id"] ?? "";
  expect(requestId, context).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  expect(seenRequestIds.has(requestId), `request id ${requestId} reused (${context})`).toBe(false);
  seenRequestIds.add(requestId);

  const exposed = `${JSON.stringify(response.headers)}\n${response.body}`;
  // A 200 body is a stored record (checked below); everything else must be one of our own sentences.
  if (response.status !== 200) for (const pattern of LEAK_PATTERNS) expect(exposed, context).not.toMatch(pattern);

  if (request.method === "HEAD") {
    expect(response.body, context).toBe("");
  } else if (response.status === 200) {
    // A success is one of the seeded records, returned to a caller holding a key of its organization.
    const body = JSON.parse(response.body) as { id?: string; organization_id?: string };
    expect(seededIds, context).toContain(body.id);
    const callerOrganizations = presentedApiKeys(request).map((key) => organizationOfValidKey.get(key));
    expect(callerOrganizations, context).toContain(body.organization_id);
  } else {
    expect(ERROR_BODIES[response.status], context).toContainEqual(JSON.parse(response.body));
  }

  if (response.status >= 200 && response.status < 300) {
    // A success changes at most the record it returns, and sends at most one message.
    const returnedId = request.method === "HEAD" ? undefined : (JSON.parse(response.body) as { id?: string }).id;
    for (const id of changedExecutionIds(before, after)) expect(id, context).toBe(returnedId);
    expect(after.apiKeys, context).toEqual(before.apiKeys);
    const sent =
      after.queueDepths.reduce((sum, depth) => sum + depth, 0) -
      before.queueDepths.reduce((sum, depth) => sum + depth, 0);
    expect(sent, context).toBeGreaterThanOrEqual(0);
    expect(sent, context).toBeLessThanOrEqual(1);
  } else {
    expect(changedExecutionIds(before, after), context).toEqual([]);
    expect(after.apiKeys, context).toEqual(before.apiKeys);
    expect(after.queueDepths, context).toEqual(before.queueDepths);
  }
  return response;
}

const withKey = (key: string | undefined): [string, string][] => (key === undefined ? [] : [["x-api-key", key]]);

// --- Hand-written nasty cases ------------------------------------------------------------------

interface NastyCase {
  readonly name: string;
  readonly request: RawRequest;
  readonly status: number;
}

const { running, otherOrganization, completed } = executions;
const injectionStrings = [
  "' OR 1=1 --",
  '" OR ""="',
  '{"$ne":null}',
  '{"$gt":""}',
  ":x",
  ":organization_id",
  "#status",
  "attribute_exists(id)",
  "attribute_not_exists(id) OR id = :id",
  "SET #status = :stopped",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a Log4Shell probe, meant literally.
  "${jndi:ldap://example.invalid/a}",
  "{{7*7}}",
  "<script>alert(1)</script>",
  "__proto__",
  "constructor",
  "\u0000",
  "../../etc/passwd",
  `${running.id}\u0000`,
  `${running.id} OR 1=1`,
];

const nastyCases: NastyCase[] = [
  // Oversized and odd paths
  {
    name: "a 10 KB task id",
    request: { method: "GET", target: `/v1/tasks/${"a".repeat(10_240)}`, headers: withKey(keys.orgA) },
    status: 422,
  },
  {
    name: "a 10 KB unknown path",
    request: { method: "GET", target: `/${"a".repeat(10_240)}`, headers: withKey(keys.orgA) },
    status: 404,
  },
  {
    name: "a 10 KB stop path",
    request: { method: "POST", target: `/v1/tasks/${"%41".repeat(3_400)}/stop`, headers: withKey(keys.orgA) },
    status: 422,
  },
  {
    name: "percent-encoded unicode",
    request: { method: "GET", target: `/v1/tasks/${encodeURIComponent("é☃🛑")}`, headers: withKey(keys.orgA) },
    status: 422,
  },
  {
    name: "unicode lookalike of a uuid",
    request: {
      method: "POST",
      target: `/v1/tasks/${encodeURIComponent(running.id.replace(/-/g, "\u2010"))}/stop`,
      headers: withKey(keys.orgA),
    },
    status: 422,
  },
  {
    name: "raw unicode on the wire",
    request: { method: "POST", target: "/v1/tasks/é☃/stop", headers: withKey(keys.orgA) },
    status: 400,
  },
  {
    name: "an encoded slash inside the id",
    request: { method: "POST", target: `/v1/tasks/${running.id}%2Fstop/stop`, headers: withKey(keys.orgA) },
    status: 422,
  },
  {
    name: "an encoded slash is not a separator",
    request: { method: "POST", target: `/v1/tasks/${running.id}%2Fstop`, headers: withKey(keys.orgA) },
    status: 404,
  },
  {
    name: "encoded traversal",
    request: { method: "POST", target: "/v1/tasks/..%2F..%2Fadmin/stop", headers: withKey(keys.orgA) },
    status: 422,
  },
  {
    name: "traversal out of the API",
    request: { method: "GET", target: "/v1/tasks/../../etc/passwd", headers: withKey(keys.orgA) },
    status: 404,
  },
  {
    name: "traversal that resolves to a route",
    request: { method: "GET", target: `/v1/tasks/x/../${running.id}`, headers: withKey(keys.orgA) },
    status: 200,
  },
  {
    name: "a protocol-relative path naming another host",
    request: { method: "POST", target: `//evil.example/v1/tasks/${running.id}/stop`, headers: withKey(keys.orgA) },
    status: 404,
  },
  {
    name: "doubled slashes",
    request: { method: "POST", target: `/v1//tasks/${running.id}/stop`, headers: withKey(keys.orgA) },
    status: 404,
  },
  {
    name: "an absolute-form target",
    request: { method: "GET", target: `http://evil.example/v1/tasks/${completed.id}`, headers: withKey(keys.orgA) },
    status: 200,
  },
  { name: "an asterisk target", request: { method: "OPTIONS", target: "*", headers: withKey(keys.orgA) }, status: 404 },
  {
    name: "a trailing extra segment",
    request: { method: "POST", target: `/v1/tasks/${running.id}/stop/now`, headers: withKey(keys.orgA) },
    status: 404,
  },
  {
    name: "an upper-case route",
    request: { method: "POST", target: `/V1/TASKS/${running.id}/STOP`, headers: withKey(keys.orgA) },
    status: 404,
  },
  {
    name: "an invalid percent sequence",
    request: { method: "GET", target: "/v1/tasks/%E0%A4%A", headers: withKey(keys.orgA) },
    status: 422,
  },
  {
    name: "a lone percent sign",
    request: { method: "GET", target: "/agent-execution/%/status", headers: withKey(keys.orgA) },
    status: 422,
  },
  {
    name: "a matrix parameter",
    request: { method: "DELETE", target: `/agent-execution/${running.id};version=0`, headers: withKey(keys.orgA) },
    status: 422,
  },
  // Null bytes and control characters
  {
    name: "a raw null byte in the path",
    request: { method: "POST", target: "/v1/tasks/a\u0000b/stop", headers: withKey(keys.orgA) },
    status: 400,
  },
  {
    name: "an encoded null byte in the path",
    request: { method: "POST", target: `/v1/tasks/${running.id}%00/stop`, headers: withKey(keys.orgA) },
    status: 422,
  },
  {
    name: "a null byte in the key",
    request: {
      method: "GET",
      target: `/v1/tasks/${completed.id}`,
      headers: [["x-api-key", Buffer.from(`${keys.orgA}\u0000`, "latin1")]],
    },
    status: 400,
  },
  {
    name: "a space in the path",
    request: { method: "GET", target: "/v1/tasks/a b", headers: withKey(keys.orgA) },
    status: 400,
  },
  {
    name: "a CR LF smuggled into the key",
    request: {
      method: "GET",
      target: `/v1/tasks/${completed.id}`,
      headers: [["x-api-key", `${keys.orgA}\rx-api-key: ${keys.orgB}`]],
    },
    status: 400,
  },
  // Keys: missing, duplicated, re-cased, huge
  { name: "no key", request: { method: "POST", target: `/v1/tasks/${running.id}/stop` }, status: 401 },
  {
    name: "an empty key",
    request: { method: "POST", target: `/v1/tasks/${running.id}/stop`, headers: [["x-api-key", ""]] },
    status: 401,
  },
  {
    name: "a revoked key",
    request: { method: "POST", target: `/v1/tasks/${running.id}/stop`, headers: withKey(keys.revoked) },
    status: 401,
  },
  {
    name: "an expired key",
    request: { method: "DELETE", target: `/agent-execution/${running.id}`, headers: withKey(keys.expired) },
    status: 401,
  },
  {
    name: "a key sent twice with different values",
    request: {
      method: "POST",
      target: `/v1/tasks/${running.id}/stop`,
      headers: [
        ["x-api-key", keys.orgA],
        ["X-API-KEY", keys.orgB],
      ],
    },
    status: 401,
  },
  {
    name: "a valid key and a revoked one",
    request: {
      method: "POST",
      target: `/v1/tasks/${running.id}/stop`,
      headers: [
        ["x-api-key", keys.revoked],
        ["x-api-key", keys.orgA],
      ],
    },
    status: 401,
  },
  {
    name: "the same key sent twice",
    request: {
      method: "GET",
      target: `/v1/tasks/${completed.id}`,
      headers: [
        ["x-api-key", keys.orgA],
        ["x-api-key", keys.orgA],
      ],
    },
    status: 200,
  },
  {
    name: "a key header in upper case",
    request: { method: "GET", target: `/agent-execution/${completed.id}/status`, headers: [["X-API-KEY", keys.orgA]] },
    status: 200,
  },
  {
    name: "a key in a look-alike header",
    request: {
      method: "POST",
      target: `/v1/tasks/${running.id}/stop`,
      headers: [
        ["x-api_key", keys.orgA],
        ["authorization", `Bearer ${keys.orgA}`],
      ],
    },
    status: 401,
  },
  {
    name: "a key with a prefix",
    request: { method: "POST", target: `/v1/tasks/${running.id}/stop`, headers: withKey(`Bearer ${keys.orgA}`) },
    status: 401,
  },
  {
    name: "a key of 10 KB",
    request: { method: "POST", target: `/v1/tasks/${running.id}/stop`, headers: withKey("k".repeat(10_240)) },
    status: 401,
  },
  {
    name: "a key of 100 KB",
    request: { method: "POST", target: `/v1/tasks/${running.id}/stop`, headers: withKey("k".repeat(102_400)) },
    status: 431,
  },
  {
    name: "a key in unicode",
    request: { method: "POST", target: `/v1/tasks/${running.id}/stop`, headers: withKey("ключ-🔑") },
    status: 401,
  },
  {
    name: "a key full of injection",
    request: {
      method: "POST",
      target: `/v1/tasks/${running.id}/stop`,
      headers: withKey("' OR attribute_exists(key_hash) --"),
    },
    status: 401,
  },
  {
    name: "another organization's key",
    request: { method: "POST", target: `/v1/tasks/${running.id}/stop`, headers: withKey(keys.orgB) },
    status: 403,
  },
  {
    name: "another organization's key on the compatibility route",
    request: { method: "GET", target: `/agent-execution/${otherOrganization.id}/status`, headers: withKey(keys.orgA) },
    status: 403,
  },
  // Header and query names that are object-prototype keys
  {
    name: "a header named __proto__",
    request: {
      method: "GET",
      target: `/v1/tasks/${completed.id}`,
      headers: [["__proto__", "{}"], ...withKey(keys.orgA)],
    },
    status: 200,
  },
  {
    name: "a header named constructor",
    request: {
      method: "GET",
      target: `/v1/tasks/${completed.id}`,
      headers: [["constructor", "x"], ["toString", "y"], ...withKey(keys.orgA)],
    },
    status: 200,
  },
  {
    name: "prototype keys in the query",
    request: {
      method: "POST",
      target: `/v1/tasks/${completed.id}/stop?__proto__=1&constructor=2&hasOwnProperty=3`,
      headers: withKey(keys.orgA),
    },
    status: 200,
  },
  {
    name: "a query that tries to pick the task",
    request: { method: "POST", target: `/v1/tasks/not-a-uuid/stop?task_id=${running.id}`, headers: withKey(keys.orgA) },
    status: 422,
  },
  {
    name: "a forged request id and method override",
    request: {
      method: "GET",
      target: `/v1/tasks/${running.id}/stop`,
      headers: [["x-request-id", "attacker"], ["x-http-method-override", "POST"], ...withKey(keys.orgA)],
    },
    status: 404,
  },
  // Bodies and content types: only the stop routes read a body (an optional {"reason"}, whatever the content type)
  {
    name: "a JSON body asking for another state",
    request: {
      method: "POST",
      target: `/v1/tasks/${completed.id}/stop`,
      headers: [["content-type", "application/json"], ...withKey(keys.orgA)],
      body: Buffer.from('{"status":"executing","organization_id":"org-b"}'),
    },
    status: 200,
  },
  {
    name: "a JSON body with prototype keys",
    request: {
      method: "POST",
      target: `/v1/tasks/${otherOrganization.id}/stop`,
      headers: [["content-type", "application/json"], ...withKey(keys.orgA)],
      body: Buffer.from('{"__proto__":{"organization_id":"org-a"},"constructor":{"prototype":{}}}'),
    },
    status: 403,
  },
  {
    name: "1 MB of binary",
    request: {
      method: "POST",
      target: `/v1/tasks/${randomUUID()}/stop`,
      headers: [["content-type", "application/octet-stream"], ...withKey(keys.orgA)],
      body: Buffer.alloc(1 << 20, 0xfe),
    },
    status: 422,
  },
  {
    name: "1 MB of JSON without a key",
    request: {
      method: "POST",
      target: `/v1/tasks/${running.id}/stop`,
      headers: [["content-type", "application/json"]],
      body: Buffer.from(JSON.stringify({ pad: "x".repeat(1 << 20) })),
    },
    status: 401,
  },
  {
    name: "a form body",
    request: {
      method: "DELETE",
      target: `/agent-execution/${randomUUID()}`,
      headers: [["content-type", "application/x-www-form-urlencoded"], ...withKey(keys.orgA)],
      body: Buffer.from("status=stopped&task_id=x"),
    },
    status: 422,
  },
  {
    name: "a multipart body",
    request: {
      method: "POST",
      target: "/v1/tasks/x/stop",
      headers: [["content-type", "multipart/form-data; boundary=zz"], ...withKey(keys.orgA)],
      body: Buffer.from("--zz\r\ncontent-disposition: form-data; name=a\r\n\r\nb\r\n--zz--\r\n"),
    },
    status: 422,
  },
  {
    name: "a nonsense content type",
    request: {
      method: "GET",
      target: `/v1/tasks/${completed.id}`,
      headers: [["content-type", "\u00ff/\u00fe; charset=utf-99"], ...withKey(keys.orgA)],
      body: Buffer.from([0, 1, 2, 3]),
    },
    status: 200,
  },
  {
    name: "a chunked body",
    request: {
      method: "POST",
      target: `/v1/tasks/${randomUUID()}/stop`,
      headers: [["transfer-encoding", "chunked"], ...withKey(keys.orgA)],
      body: Buffer.from('7\r\n{"a":1}\r\n0\r\n\r\n'),
      omitContentLength: true,
    },
    status: 404,
  },
  {
    name: "a chunked body that is not JSON",
    request: {
      method: "POST",
      target: `/v1/tasks/${randomUUID()}/stop`,
      headers: [["transfer-encoding", "chunked"], ...withKey(keys.orgA)],
      body: Buffer.from("5\r\nhello\r\n0\r\n\r\n"),
      omitContentLength: true,
    },
    status: 422,
  },
  {
    name: "a reason over 500 characters for a running task",
    request: {
      method: "POST",
      target: `/v1/tasks/${running.id}/stop`,
      headers: [["content-type", "application/json"], ...withKey(keys.orgA)],
      body: Buffer.from(JSON.stringify({ reason: "r".repeat(501) })),
    },
    status: 422,
  },
  {
    name: "conflicting framing headers",
    request: {
      method: "POST",
      target: `/v1/tasks/${running.id}/stop`,
      headers: [["transfer-encoding", "chunked"], ["content-length", "3"], ...withKey(keys.orgA)],
      body: Buffer.from("0\r\n\r\n"),
      omitContentLength: true,
    },
    status: 400,
  },
  {
    name: "a method HTTP does not know",
    request: { method: "FROB", target: `/v1/tasks/${running.id}/stop`, headers: withKey(keys.orgA) },
    status: 400,
  },
  ...injectionStrings.flatMap((injection): NastyCase[] => [
    {
      name: `injection ${JSON.stringify(injection)} as the id`,
      request: {
        method: "POST",
        target: `/v1/tasks/${encodeURIComponent(injection)}/stop`,
        headers: withKey(keys.orgA),
      },
      status: 422,
    },
    {
      name: `injection ${JSON.stringify(injection)} without a key`,
      request: { method: "GET", target: `/agent-execution/${encodeURIComponent(injection)}/status` },
      status: 401,
    },
  ]),
];

describe("hand-written hostile requests", () => {
  it.each(nastyCases.map((nasty) => [nasty.name, nasty] as const))("%s", async (_, nasty) => {
    const allowed = (EDGE_STATUSES as readonly number[]).includes(nasty.status) ? EDGE_STATUSES : DOCUMENTED_STATUSES;
    const response = await exchange(nasty.request, allowed);
    expect(response.status).toBe(nasty.status);
  });

  it("leaves a running task running after every refused attempt above", async () => {
    const stored = await snapshot();
    expect(JSON.parse(stored.executions.get(running.id) ?? "{}")).toMatchObject({ status: "executing" });
    expect(JSON.parse(stored.executions.get(otherOrganization.id) ?? "{}")).toMatchObject({ status: "executing" });
  });
});

describe("every method on every route", () => {
  const routeTargets = [
    { target: `/v1/tasks/${completed.id}/stop`, method: "POST" },
    { target: `/v1/tasks/${completed.id}`, method: "GET" },
    { target: `/agent-execution/${completed.id}`, method: "DELETE" },
    { target: `/agent-execution/${completed.id}/status`, method: "GET" },
  ] as const;
  // Another method on a known path is API Gateway's unknown-route answer, with no Allow header.
  const matrix = routeTargets.flatMap((route) =>
    METHODS.map((method) => [method, route.target, method === route.method ? 200 : 404] as const),
  );

  it.each(matrix)("%s %s answers %i", async (method, target, status) => {
    const response = await exchange({ method, target, headers: withKey(keys.orgA) });
    expect(response.status).toBe(status);
    expect(response.headers.allow).toBeUndefined();
    if (status === 404 && method !== "HEAD") expect(JSON.parse(response.body)).toEqual({ detail: "Not Found" });
  });

  it.each(METHODS)("%s on an unknown path answers 404", async (method) => {
    expect((await exchange({ method, target: "/v2/tasks", headers: withKey(keys.orgA) })).status).toBe(404);
  });
});

// --- Random requests ---------------------------------------------------------------------------

const printableAscii = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
  maxLength: 60,
});

/** Path segments that are valid on the wire as they stand (not re-encoded). */
const rawSegments = [
  "..",
  ".",
  "%2F",
  "%2f",
  "%2e%2e",
  "%",
  "%ZZ",
  "%E0%A4%A",
  "%00",
  "%0d%0a",
  ";",
  "a;b=c",
  ":x",
  "$",
  "'",
  "()",
  "@",
  "!",
  "~",
  "*",
  "+",
  "=",
];

const segmentArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...seededIds).chain((id) => fc.constantFrom(id, id.toUpperCase())) },
  { weight: 2, arbitrary: fc.uuid() },
  { weight: 2, arbitrary: fc.constantFrom(...injectionStrings).map(encodeURIComponent) },
  { weight: 2, arbitrary: fc.constantFrom(...rawSegments) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 40 }).map(encodeURIComponent) },
  { weight: 1, arbitrary: fc.string({ unit: "binary-ascii", maxLength: 40 }).map(encodeURIComponent) },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 10_000 }).map((length) => "a".repeat(length)) },
);

/** The four routes, each with the method it answers to. */
const routeTemplates = [
  { method: "POST", template: "/v1/tasks/{}/stop" },
  { method: "GET", template: "/v1/tasks/{}" },
  { method: "DELETE", template: "/agent-execution/{}" },
  { method: "GET", template: "/agent-execution/{}/status" },
] as const;

/** A method and a path: mostly a route with its own method (so requests get past the router), sometimes anything. */
const methodAndPathArb: fc.Arbitrary<{ method: string; path: string }> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .tuple(fc.constantFrom(...routeTemplates), segmentArb)
      .map(([route, segment]) => ({ method: route.method, path: route.template.replace("{}", segment) })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...METHODS), fc.constantFrom(...routeTemplates), segmentArb)
      .map(([method, route, segment]) => ({ method, path: route.template.replace("{}", segment) })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...METHODS), fc.array(segmentArb, { maxLength: 4 }))
      .map(([method, segments]) => ({ method, path: `/${segments.join("/")}` })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...METHODS),
        fc.array(fc.constantFrom("v1", "tasks", "agent-execution", "stop", "status", ""), { maxLength: 5 }),
      )
      .map(([method, segments]) => ({ method, path: `/${segments.join("/")}` })),
  },
);

const queryArb: fc.Arbitrary<string> = fc.option(
  fc
    .array(
      fc.tuple(fc.constantFrom("task_id", "__proto__", "constructor", "status", "x-api-key", "a[b]"), printableAscii),
      { minLength: 1, maxLength: 3 },
    )
    .map(
      (pairs) =>
        `?${pairs.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join("&")}`,
    ),
  { nil: "" },
);

const keyValueArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(keys.orgA, keys.orgB) },
  { weight: 2, arbitrary: fc.constantFrom(keys.revoked, keys.expired, "") },
  { weight: 1, arbitrary: printableAscii },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 30 }).filter((value) => !/[\r\n\0]/.test(value)) },
  { weight: 1, arbitrary: fc.integer({ min: 513, max: 8_000 }).map((length) => "k".repeat(length)) },
);

const keyHeaderName = fc.constantFrom("x-api-key", "X-API-KEY", "X-Api-Key");
const keyHeadersArb: fc.Arbitrary<[string, string][]> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(keyHeaderName, fc.constantFrom(keys.orgA, keys.orgB)).map((header) => [header]) },
  { weight: 3, arbitrary: fc.tuple(keyHeaderName, keyValueArb).map((header) => [header]) },
  { weight: 1, arbitrary: fc.constant<[string, string][]>([]) },
  { weight: 1, arbitrary: fc.array(fc.tuple(keyHeaderName, keyValueArb), { minLength: 2, maxLength: 3 }) },
);

const headersArb: fc.Arbitrary<[string, string][]> = fc
  .tuple(
    keyHeadersArb,
    fc.array(
      fc.tuple(
        fc.constantFrom(
          "content-type",
          "accept",
          "__proto__",
          "constructor",
          "toString",
          "x-request-id",
          "x-forwarded-for",
          "authorization",
          "cookie",
          "x-http-method-override",
          "user-agent",
        ),
        printableAscii,
      ),
      { maxLength: 3 },
    ),
  )
  .map(([keyHeaders, others]) => [...keyHeaders, ...others]);

const bodyArb: fc.Arbitrary<Buffer | undefined> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.jsonValue().map((value) => Buffer.from(JSON.stringify(value) ?? "null")) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 2_048 }).map((bytes) => Buffer.from(bytes)) },
  { weight: 1, arbitrary: fc.constant(Buffer.alloc(1 << 20, 0x7b)) },
);

const requestArb: fc.Arbitrary<RawRequest> = fc
  .record({ methodAndPath: methodAndPathArb, query: queryArb, headers: headersArb, body: bodyArb })
  .map(({ methodAndPath, query, headers, body }) => ({
    method: methodAndPath.method,
    target: `${methodAndPath.path}${query}`,
    headers,
    body,
  }));

const RANDOM_REQUESTS = 100;

const coverageExamples: RawRequest[] = [
  { method: "GET", target: `/v1/tasks/${executions.completed.id}`, headers: [["x-api-key", keys.orgA]] },
  { method: "GET", target: `/v1/tasks/${executions.completed.id}`, headers: [] },
  { method: "GET", target: `/v1/tasks/${executions.otherOrganization.id}`, headers: [["x-api-key", keys.orgA]] },
  { method: "GET", target: "/v1/tasks/0b4c7f52-3d71-4c9e-9a43-7a0f3e1d5b21", headers: [["x-api-key", keys.orgA]] },
  { method: "PUT", target: `/v1/tasks/${executions.completed.id}`, headers: [["x-api-key", keys.orgA]] },
  { method: "GET", target: "/v1/tasks/not-a-uuid", headers: [["x-api-key", keys.orgA]] },
];

/** Node's limit on the request line plus headers (its `maxHeaderSize` default); beyond it the edge answers 431. */
const MAX_HEAD_BYTES = 16 * 1024;
const headBytes = (request: RawRequest) =>
  Buffer.byteLength(`${request.method} ${request.target}`) +
  (request.headers ?? []).reduce(
    (sum, [name, value]) => sum + Buffer.byteLength(name) + Buffer.byteLength(value) + 4,
    0,
  );

describe("random requests", () => {
  // Each request is bracketed by two full snapshots of both tables and four queues: slow, not flaky.
  it(`only ever get documented answers and change nothing unless they succeed (${RANDOM_REQUESTS} runs)`, {
    timeout: 180_000,
  }, async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(requestArb, async (request) => {
        const oversized = headBytes(request) > MAX_HEAD_BYTES;
        const response = await exchange(request, oversized ? [431] : DOCUMENTED_STATUSES);
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      }),
      // One request per documented answer runs first (examples count within numRuns), so the coverage check never
      // depends on what the random generator happened to draw.
      { numRuns: RANDOM_REQUESTS, examples: coverageExamples.map((request) => [request] as [RawRequest]) },
    );
    // Refusals of every kind, and successes.
    expect([...statuses.keys()].sort()).toEqual(expect.arrayContaining([200, 401, 403, 404, 422]));
  });
});
