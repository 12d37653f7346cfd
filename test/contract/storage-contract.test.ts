import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { stopMessageSchema } from "../../lib/signals/stop-message.js";
import { callApi, type RouteStyle, routeStyleNames, routeStyles, useInProcessApi } from "../support/in-process-api.js";
import { drainQueue, environmentQueueUrl, getStoredItem, workerQueueUrl } from "../support/local-aws.js";
import {
  aPlatformKey,
  type PlatformExecution,
  platformCorpus,
  platformKeys,
  putPlatformApiKeys,
  putPlatformExecution,
} from "../support/platform-records.js";
import { platformClientTaskModel } from "./platform-client-model.js";

/**
 * docs/storage-contract.md, against records as the platform's Python services write them: every
 * item of test/fixtures/platform-records/ is written straight into DynamoDB Local with PutItem
 * (as boto3 sent it), then read and stopped through both route styles.
 */

const WORKER = "worker-platform-1";
const ENVIRONMENT = "env-platform-eu";
const served = useInProcessApi(`sk-storage-contract-${randomUUID()}`, {
  workers: [WORKER],
  environments: [ENVIRONMENT],
});
const KEY = aPlatformKey();
const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const TIMESTAMP_FIELDS = [
  "created_at",
  "started_at",
  "paused_at",
  "finished_at",
  "stopped_at",
  "stop_acknowledged_at",
] as const;

beforeAll(async () => {
  await putPlatformApiKeys(served.aws);
});

const call = (route: readonly [string, string], key = KEY) => callApi(served.api, route, key);
const stored = (id: string) => getStoredItem(served.aws.dynamoDb, served.aws.resources.tables.executions, id);
/**
 * Every message now on the corpus's worker's and environment's queues (drained), so a test sees exactly what its own
 * request sent.
 */
async function sentMessages() {
  const [worker, environment] = await Promise.all([
    drainQueue(served.aws.sqs, workerQueueUrl(served.aws, WORKER)),
    drainQueue(served.aws.sqs, environmentQueueUrl(served.aws, ENVIRONMENT)),
  ]);
  return { worker, environment };
}
const NO_MESSAGES = { worker: [], environment: [] };

function expectCanonicalRecord(text: string, record: PlatformExecution, id: string) {
  const body = JSON.parse(text);
  expect(body.id).toBe(id);
  for (const field of ["created_at", "started_at", "paused_at"] as const)
    expect(body[field]).toBe(record.expected[field]);
  for (const field of TIMESTAMP_FIELDS) if (body[field] !== null) expect(body[field]).toMatch(CANONICAL);
  expect(body).toMatchObject({
    worker_id: record.expected.worker_id,
    environment_id: record.expected.environment_id,
    execution_attempts: record.expected.execution_attempts,
    tokens: record.expected.tokens,
  });
  // The platform's own SDK model parses what it gets back.
  expect(platformClientTaskModel.safeParse(body).error?.issues ?? []).toEqual([]);
  return body;
}

const readable = platformCorpus.records.filter((record) => record.readable);
const running = readable.filter((record) => !["completed", "failed", "stopped"].includes(record.status));
const finished = readable.filter((record) => ["completed", "failed", "stopped"].includes(record.status));

describe("API keys the platform stored, in every timestamp form", () => {
  it.each(platformKeys)("$name: authorizes exactly when it should", async (key) => {
    const response = await call(routeStyles.documented.get(randomUUID()), key.key);
    // 404: the key was accepted and the (unknown) task looked up; 401: the key was refused.
    expect(response.status).toBe(key.authorizes ? 404 : 401);
  });
});

describe.each(routeStyleNames)("records the platform stored, through the %s routes", (style: RouteStyle) => {
  const routes = routeStyles[style];

  it.each(running)(
    "$name: reads with canonical timestamps, stops once with one message to whoever runs it, then stays put",
    async (record) => {
      const id = randomUUID();
      await putPlatformExecution(served.aws, record, id);

      const got = await call(routes.get(id));
      expect(got.status).toBe(200);
      expectCanonicalRecord(got.text, record, id);

      const stop = await call(routes.stop(id));
      expect(stop.status).toBe(200);
      const body = expectCanonicalRecord(stop.text, record, id);
      expect(body).toMatchObject({ status: "stopped", is_manually_stopped: true, stop_reason: "user_requested" });
      expect(body.finished_at).toBe(body.stopped_at);
      const messages = await sentMessages();
      if (record.routes_to === "nobody") {
        // No worker or environment runs it yet: there is no one to tell (docs/stop-delivery.md).
        expect(messages).toEqual(NO_MESSAGES);
      } else {
        const other = record.routes_to === "worker" ? "environment" : "worker";
        expect(messages[other]).toEqual([]);
        expect(messages[record.routes_to]).toHaveLength(1);
        expect(stopMessageSchema.parse(JSON.parse(messages[record.routes_to][0]?.Body ?? "{}"))).toMatchObject({
          task_id: id,
          worker_id: record.expected.worker_id,
          environment_id: record.expected.environment_id,
          requested_at: body.stopped_at,
        });
      }

      const before = await stored(id);
      const again = await call(routes.stop(id));
      expect(again.status).toBe(200);
      expect(JSON.parse(again.text)).toEqual(body);
      expect(await stored(id)).toEqual(before);
      expect(await sentMessages()).toEqual(NO_MESSAGES);
    },
  );

  it.each(finished)("$name: reads, and a stop returns it unchanged and sends nothing", async (record) => {
    const id = randomUUID();
    await putPlatformExecution(served.aws, record, id);
    const before = await stored(id);

    const got = await call(routes.get(id));
    expect(got.status).toBe(200);
    expectCanonicalRecord(got.text, record, id);
    const stop = await call(routes.stop(id));
    expect(stop.status).toBe(200);
    expect(JSON.parse(stop.text)).toEqual(JSON.parse(got.text));
    expect(JSON.parse(stop.text).finished_at).toBe(record.expected.finished_at);

    expect(await stored(id)).toEqual(before);
    expect(await sentMessages()).toEqual(NO_MESSAGES);
  });
});

describe("records that break the public schema", () => {
  const unknownStatus = platformCorpus.records.find((record) => record.name === "status ERROR");
  const newerEnum = platformCorpus.records.find(
    (record) => record.name === "running, output_format from a newer model",
  );

  it.each(routeStyleNames)(
    "a status outside the seven is never transitioned: 500, nothing changes (%s routes)",
    async (style) => {
      if (!unknownStatus) throw new Error("corpus lacks the unknown-status record");
      const id = randomUUID();
      await putPlatformExecution(served.aws, unknownStatus, id);
      const before = await stored(id);

      expect((await call(routeStyles[style].get(id))).status).toBe(500);
      const stop = await call(routeStyles[style].stop(id));

      expect(stop.status).toBe(500);
      expect(JSON.parse(stop.text)).toEqual({ detail: "Internal server error" });
      expect(await stored(id)).toEqual(before);
      expect(await sentMessages()).toEqual(NO_MESSAGES);
    },
  );

  it.each(routeStyleNames)(
    "an unreadable running record is still stopped and signalled, answers 500, and a repeat changes nothing (%s routes)",
    async (style) => {
      if (!newerEnum) throw new Error("corpus lacks the newer-enum record");
      const id = randomUUID();
      await putPlatformExecution(served.aws, newerEnum, id);

      const stop = await call(routeStyles[style].stop(id));

      expect(stop.status).toBe(500);
      const after = await stored(id);
      expect(after).toMatchObject({ status: "stopped", is_manually_stopped: true, output_format: "html" });
      expect(after).not.toHaveProperty("signal_pending_since");
      const messages = await sentMessages();
      expect(messages.environment).toEqual([]);
      expect(messages.worker.map((message) => JSON.parse(message.Body ?? "{}"))).toEqual([
        expect.objectContaining({
          task_id: id,
          worker_id: newerEnum.expected.worker_id,
          requested_at: after?.stopped_at,
        }),
      ]);

      const repeat = await call(routeStyles[style].stop(id));
      expect(repeat.status).toBe(500);
      expect(await stored(id)).toEqual(after);
      expect(await sentMessages()).toEqual(NO_MESSAGES);
    },
  );
});
