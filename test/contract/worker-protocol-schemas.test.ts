import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Message } from "@aws-sdk/client-sqs";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildStopMessage } from "../../lib/signals/publisher.js";
import { stopMessageSchema } from "../../lib/signals/stop-message.js";
import { taskEventTypes } from "../../lib/task-events.js";
import { dynamoWorkerExecutionUpdates } from "../../lib/worker/execution-updates.js";
import { buildMessageSchemas, SCHEMAS_DIRECTORY } from "../../scripts/message-schemas.js";
import { type ExecutionStreamHarness, startExecutionStream } from "../support/execution-stream-harness.js";
import { aStopRequest, FACTORY_WORKER_ID } from "../support/factories.js";
import {
  drainQueue,
  type LocalAws,
  provisionIsolatedStack,
  storeApiKey,
  workerQueueUrl,
} from "../support/local-aws.js";
import { stopTaskHarness } from "../support/stop-task-harness.js";
import { eventually, storeTree } from "../support/task-tree.js";

/**
 * The JSON Schemas a worker in another language reads the protocol from (docs/worker-protocol.md): generated from the
 * zod schemas, checked in, and checked here against what the service really sends.
 */

const KEY = `sk-protocol-${randomUUID()}`;

function checkedInSchema(fileName: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(SCHEMAS_DIRECTORY, fileName), "utf8")) as Record<string, unknown>;
}

/** A 2020-12 validator holding the checked-in files, each under its `$id` (the envelope refers to the detail so). */
function checkedInValidator() {
  const ajv = new Ajv2020({ allErrors: true });
  addFormats.default(ajv);
  for (const fileName of readdirSync(SCHEMAS_DIRECTORY)) ajv.addSchema(checkedInSchema(fileName));
  return (schemaId: string, value: unknown): string[] => {
    const validate = ajv.getSchema(schemaId);
    if (!validate) return [`no schema ${schemaId}`];
    return validate(value) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message}`);
  };
}

/** Bodies as sent, not as our zod reader returns them (it drops unknown fields, which would hide a schema's gap). */
const bodiesOf = (messages: readonly Message[]) => messages.map((message) => JSON.parse(message.Body ?? "null"));

describe("the checked-in JSON Schemas", () => {
  it("are what npm run schemas last wrote (schemas/ is generated from the zod source, never edited)", () => {
    const generated = buildMessageSchemas();
    expect(readdirSync(SCHEMAS_DIRECTORY).sort()).toEqual(Object.keys(generated).sort());
    for (const [fileName, schema] of Object.entries(generated)) {
      expect(checkedInSchema(fileName), fileName).toEqual(JSON.parse(JSON.stringify(schema)));
    }
  });

  it("are valid JSON Schema 2020-12 documents that compile", () => {
    const check = checkedInValidator();
    expect(check("stop-message.v1.schema.json", {})).not.toEqual([]);
    expect(check("task-event.schema.json", {})).not.toEqual([]);
  });
});

describe("what the service really sends validates against the checked-in schemas", () => {
  let aws: LocalAws;
  let stream: ExecutionStreamHarness;
  const check = checkedInValidator();

  beforeAll(async () => {
    aws = await provisionIsolatedStack();
    await storeApiKey(aws, { key: KEY, organizationId: "org-a", keyId: "key-protocol" });
    stream = await startExecutionStream(aws);
  });

  afterAll(async () => {
    await stream?.stop();
  });

  it(
    "the stop messages on a worker's queue (the stop function's and the cascade's) " +
      "and the Task Stopped and Task Stop Acknowledged events",
    async () => {
      const tree = await storeTree(aws, { name: "root", children: [{ name: "child" }] });
      const rootId = tree.ids.root as string;
      const childId = tree.ids.child as string;
      await stream.settled();
      await drainQueue(aws.sqs, aws.resources.queues.events);

      const response = await stopTaskHarness(aws).http(
        aStopRequest(rootId, KEY, [], { body: JSON.stringify({ reason: "Wrong brief" }) }),
      );
      expect(response.statusCode).toBe(200);

      const messages: unknown[] = [];
      await eventually(async () => {
        messages.push(...bodiesOf(await drainQueue(aws.sqs, workerQueueUrl(aws))));
        expect(messages.map((message) => (message as { task_id: string }).task_id).sort()).toEqual(
          [rootId, childId].sort(),
        );
      });
      for (const message of messages) expect(check("stop-message.v1.schema.json", message)).toEqual([]);
      expect(messages).toContainEqual(expect.objectContaining({ task_id: rootId, note: "Wrong brief" }));

      await dynamoWorkerExecutionUpdates(aws.dynamoDb, aws.resources.tables.executions).acknowledgeStop(rootId, {
        workerId: FACTORY_WORKER_ID,
      });
      await stream.settled();
      const events = bodiesOf(await drainQueue(aws.sqs, aws.resources.queues.events)) as {
        "detail-type": string;
        detail: unknown;
      }[];
      expect(events.map((event) => event["detail-type"]).sort()).toEqual(
        [taskEventTypes.stopped, taskEventTypes.stopped, taskEventTypes.stopAcknowledged].sort(),
      );
      for (const event of events) {
        expect(check("task-event.schema.json", event)).toEqual([]);
        expect(check("task-event-detail.schema.json", event.detail)).toEqual([]);
      }
    },
  );

  it("a guard's stop message, with the limit it crossed", () => {
    const message = buildStopMessage(
      {
        id: randomUUID(),
        organization_id: "org-a",
        agent_id: "agent-1",
        worker_id: FACTORY_WORKER_ID,
        environment_id: null,
        is_manually_stopped: false,
      },
      {
        requestedAt: "2026-12-04T10:00:00.000Z",
        requestedBy: "guard:token_limit",
        reason: "token_limit_exceeded",
        limit: { limit_name: "max_tokens", limit: 1000, usage: 1050 },
      },
    );
    expect(check("stop-message.v1.schema.json", JSON.parse(JSON.stringify(message)))).toEqual([]);
  });
});

describe("what a worker must set aside fails the checked-in schema, as it fails the reference worker's reader", () => {
  const check = checkedInValidator();
  const valid = JSON.parse(
    JSON.stringify(
      buildStopMessage(
        {
          id: randomUUID(),
          organization_id: "org-a",
          agent_id: "agent-1",
          worker_id: FACTORY_WORKER_ID,
          environment_id: null,
          is_manually_stopped: true,
        },
        { requestedAt: "2026-12-04T10:00:00.000Z", requestedBy: "key-a", reason: "user_requested" },
      ),
    ),
  ) as Record<string, unknown>;

  it.each([
    ["a message missing task_id", (({ task_id: _taskId, ...rest }) => rest)(valid)],
    ["a message of version 2", { ...valid, version: 2 }],
    ["a message of another type", { ...valid, type: "task.pause" }],
    ["a requested_at that is not a UTC timestamp", { ...valid, requested_at: "yesterday" }],
  ])("%s", (_name, message) => {
    expect(check("stop-message.v1.schema.json", message)).not.toEqual([]);
    expect(stopMessageSchema.safeParse(message).success).toBe(false);
  });

  it("while a field it does not know is allowed (a consumer ignores it), by both", () => {
    const message = { ...valid, priority: "high" };
    expect(check("stop-message.v1.schema.json", message)).toEqual([]);
    expect(stopMessageSchema.safeParse(message).success).toBe(true);
  });
});
