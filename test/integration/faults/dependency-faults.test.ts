import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createDynamoDbClient, createSqsClient } from "../../../lib/aws/clients.js";
import { readStopTaskConfig } from "../../../lib/config.js";
import { livenessIndexKeys } from "../../../lib/executions/indexes.js";
import { cleanupHarness } from "../../support/cleanup-harness.js";
import { anExecution, aStopRequest } from "../../support/factories.js";
import { type Fault, type FaultyProxy, startFaultyProxy } from "../../support/faulty-proxy.js";
import {
  drainQueue,
  getStoredItem,
  type LocalAws,
  provisionIsolatedStack,
  putItem,
  storeApiKey,
  workerQueueUrl,
} from "../../support/local-aws.js";
import { stopTaskHarness } from "../../support/stop-task-harness.js";

const KEY = `sk-faults-${randomUUID()}`;
/** The stop function's timeout in the cloud stack: no dependency may make a request outlive it. */
const LAMBDA_TIMEOUT_MS = 10_000;
const MAX_ATTEMPTS = 3;
let aws: LocalAws;
let dynamoDbProxy: FaultyProxy;
let sqsProxy: FaultyProxy;

beforeAll(async () => {
  aws = await provisionIsolatedStack();
  await storeApiKey(aws, { key: KEY, organizationId: "org-a", keyId: "key-a" });
  dynamoDbProxy = await startFaultyProxy(inject("dynamoDbEndpoint"));
  sqsProxy = await startFaultyProxy(inject("sqsEndpoint"));
});

afterAll(async () => {
  await Promise.all([dynamoDbProxy?.close(), sqsProxy?.close()]);
});

/** The stop handler with short SDK timeouts, talking to the emulators through the fault proxies. */
function serviceBehindProxies() {
  const options = { requestTimeoutMs: 300, connectionTimeoutMs: 300, maxAttempts: MAX_ATTEMPTS };
  return stopTaskHarness(aws, {
    dynamoDb: createDynamoDbClient({ ...options, endpoint: dynamoDbProxy.endpoint }),
    sqs: createSqsClient({ ...options, endpoint: sqsProxy.endpoint }),
  });
}

function faultOn(proxy: FaultyProxy, operation: string, fault: Fault) {
  proxy.setFault((seen) => (seen.endsWith(`.${operation}`) ? fault : "pass"));
}

async function seed() {
  // Started just now, so the cleanup below has no stale execution to stop, only signals to re-send.
  const execution = anExecution({ status: "executing", started_at: new Date().toISOString() });
  await putItem(aws.dynamoDb, aws.resources.tables.executions, { ...execution, ...livenessIndexKeys(execution) });
  return execution;
}

describe("DynamoDB failing: 503 with Retry-After, nothing changed, nothing sent", () => {
  it.each(["throttle", "hang", "error"] as const)("when UpdateItem answers with %s", async (fault) => {
    const service = serviceBehindProxies();
    await service.http(aStopRequest(randomUUID(), KEY)); // warms the key cache through a healthy proxy
    const execution = await seed();
    const before = await getStoredItem(aws.dynamoDb, aws.resources.tables.executions, execution.id);
    faultOn(dynamoDbProxy, "UpdateItem", fault);
    service.counter.reset();

    const startedAt = Date.now();
    const response = await service.http(aStopRequest(execution.id, KEY));
    const elapsedMs = Date.now() - startedAt;
    dynamoDbProxy.setFault(() => "pass");

    expect(response.statusCode).toBe(503);
    expect(response.headers?.["retry-after"]).toBe("1");
    expect(JSON.parse(response.body)).toEqual({ detail: "Service temporarily unavailable, please retry" });
    // The SDK retried, and gave up well before the function itself would have been killed.
    expect(service.counter.calls).toEqual(Array(MAX_ATTEMPTS).fill("UpdateItemCommand"));
    expect(elapsedMs).toBeLessThan(LAMBDA_TIMEOUT_MS);
    expect(await getStoredItem(aws.dynamoDb, aws.resources.tables.executions, execution.id)).toEqual(before);
    expect(await drainQueue(aws.sqs, workerQueueUrl(aws))).toEqual([]);
  });

  it("when the key lookup itself is throttled", async () => {
    const service = serviceBehindProxies();
    faultOn(dynamoDbProxy, "GetItem", "throttle");
    const execution = await seed();
    const response = await service.http(aStopRequest(execution.id, KEY));
    dynamoDbProxy.setFault(() => "pass");
    expect(response.statusCode).toBe(503);
    expect(service.counter.calls).not.toContain("UpdateItemCommand");
    expect(await getStoredItem(aws.dynamoDb, aws.resources.tables.executions, execution.id)).toMatchObject({
      status: "executing",
    });
  });
});

describe("an applied write whose answer is lost", () => {
  it("is recognised on the SDK's retry as this request's own stop, so the signal still goes out", async () => {
    const service = serviceBehindProxies();
    await service.http(aStopRequest(randomUUID(), KEY)); // warms the key cache
    const execution = await seed();
    let updates = 0;
    dynamoDbProxy.setFault((operation) =>
      operation.endsWith(".UpdateItem") && ++updates === 1 ? "lose-answer" : "pass",
    );

    const response = await service.http(aStopRequest(execution.id, KEY));
    dynamoDbProxy.setFault(() => "pass");

    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ status: "stopped", is_manually_stopped: true });
    expect(await getStoredItem(aws.dynamoDb, aws.resources.tables.executions, execution.id)).toMatchObject({
      version: 1,
    });
    const messages = await drainQueue(aws.sqs, workerQueueUrl(aws), { waitSeconds: 1 });
    expect(messages.map((message) => JSON.parse(message.Body ?? "{}").task_id)).toEqual([execution.id]);
  });
});

describe("SQS failing: 200, the stop recorded with its signal pending, delivered later", () => {
  it.each(["hang", "throttle", "error"] as const)("when SendMessage answers with %s", async (fault) => {
    const service = serviceBehindProxies();
    const execution = await seed();
    faultOn(sqsProxy, "SendMessage", fault);

    const response = await service.http(aStopRequest(execution.id, KEY));
    sqsProxy.setFault(() => "pass");

    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ status: "stopped" });
    expect(await getStoredItem(aws.dynamoDb, aws.resources.tables.executions, execution.id)).toHaveProperty(
      "signal_pending_since",
    );
    expect(await drainQueue(aws.sqs, workerQueueUrl(aws))).toEqual([]);

    // SQS is healthy again: the cleanup's re-drive delivers it.
    // (A minute to acknowledge, so only this stop's pending signal is due, not earlier ones re-sent.)
    expect(
      await cleanupHarness(aws, stopTaskHarness(aws), { settings: { signalAckTimeoutMs: 60_000 } })(),
    ).toMatchObject({ redriven: 1 });
    const messages = await drainQueue(aws.sqs, workerQueueUrl(aws), { waitSeconds: 1 });
    expect(messages.map((message) => JSON.parse(message.Body ?? "{}").task_id)).toEqual([execution.id]);
  });
});

describe("client timeouts", () => {
  it("keep the worst case of every AWS call of a request inside the function's timeout", () => {
    const config = readStopTaskConfig({
      EXECUTIONS_TABLE_NAME: "t",
      API_KEYS_TABLE_NAME: "k",
      WORKER_QUEUE_URL_PREFIX: "https://sqs.example/1/w-",
      ENVIRONMENT_QUEUE_URL_PREFIX: "https://sqs.example/1/e-",
    });
    // Per call: every attempt may time out (connect + response), plus the SDK's backoff between
    // attempts (full jitter, base 100 ms, or 500 ms after throttling: under 1.5 s over 3 attempts).
    const perCallMs =
      config.AWS_MAX_ATTEMPTS * (config.AWS_CONNECTION_TIMEOUT_MS + config.AWS_REQUEST_TIMEOUT_MS) + 1_500;
    // A request makes at most two calls that can hang before it answers a 503: the key's GetItem and
    // the UpdateItem (a failing SendMessage answers 200 and leaves the re-send to the cleanup).
    expect(2 * perCallMs).toBeLessThan(LAMBDA_TIMEOUT_MS);
  });
});
