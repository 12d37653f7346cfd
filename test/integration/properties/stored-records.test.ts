import { randomUUID } from "node:crypto";
import { type AttributeValue, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import { executionStatuses, isTerminal } from "../../../lib/execution.js";
import { callApi, routeStyles, useInProcessApi } from "../../support/in-process-api.js";
import { drainQueue, environmentQueue, getStoredItem, workerQueue } from "../../support/local-aws.js";
import { type WrittenTimestamp, writtenTimestamp } from "../../support/timestamp-arbitrary.js";

/**
 * The storage contract as a property: a record whose optional fields are each independently
 * absent, stored as null or set (timestamps in any form the platform's writers produce, integers
 * as DynamoDB holds floats) always stores, reads with canonical timestamps, and stops.
 */

const KEY = `sk-stored-records-${randomUUID()}`;
const served = useInProcessApi(KEY);

/** Absent (the key is missing), null (stored as NULL, as `model_dump()` writes None), or a value. */
const absentNullOr = <T>(value: fc.Arbitrary<T>): fc.Arbitrary<T | null | undefined> =>
  fc.oneof(fc.constant(undefined), fc.constant(null), value);

const text = fc.string({ maxLength: 20 });
const nonEmpty = fc.string({ minLength: 1, maxLength: 20 });
const ids = fc.array(fc.uuid(), { maxLength: 3 });
const object = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 8 }),
  fc.oneof(text, fc.integer(), fc.boolean(), fc.constant(null)),
  { maxKeys: 3 },
);

const timestampFields = ["started_at", "paused_at", "finished_at", "stopped_at", "stop_acknowledged_at"] as const;

const storedRecord = fc.record({
  status: fc.constantFrom(...executionStatuses),
  created_at: writtenTimestamp,
  timestamps: fc.record(
    Object.fromEntries(timestampFields.map((field) => [field, absentNullOr(writtenTimestamp)])) as Record<
      (typeof timestampFields)[number],
      fc.Arbitrary<WrittenTimestamp | null | undefined>
    >,
  ),
  fields: fc.record({
    input: absentNullOr(
      fc.record({
        text: absentNullOr(text),
        files: absentNullOr(fc.array(text, { maxLength: 2 })),
        user: fc.constant(null),
      }),
    ),
    internal_status: absentNullOr(text),
    result: absentNullOr(text),
    is_manually_stopped: absentNullOr(fc.boolean()),
    last_executed_node_id: absentNullOr(text),
    agent_version: absentNullOr(text),
    parent_execution: absentNullOr(fc.uuid()),
    sub_executions: absentNullOr(ids),
    finished_sub_executions: absentNullOr(ids),
    payload_extension: absentNullOr(object),
    hitl_request: absentNullOr(fc.record({ wait_node_id: nonEmpty })),
    pending_eca_request: absentNullOr(fc.record({ connector_name: nonEmpty, auth_url: nonEmpty })),
    source: absentNullOr(text),
    worker_id: absentNullOr(nonEmpty),
    additional_context: absentNullOr(text),
    instructions_override: absentNullOr(text),
    expected_output: absentNullOr(text),
    triggering_agent_id: absentNullOr(text),
    title: absentNullOr(text),
    mcp_servers: absentNullOr(
      fc.array(fc.record({ name: absentNullOr(text), type: absentNullOr(fc.constantFrom("local", "remote")) }), {
        maxLength: 2,
      }),
    ),
    test_run_node_id: absentNullOr(text),
    is_orchestration: absentNullOr(fc.boolean()),
    output_format: absentNullOr(fc.constantFrom("text", "markdown", "json", "voice")),
    voice_id: absentNullOr(text),
    output_schema: absentNullOr(object),
    events_streaming: absentNullOr(fc.boolean()),
    used_mutating_tools: absentNullOr(fc.boolean()),
    is_continuous: absentNullOr(fc.boolean()),
    think_mode: absentNullOr(fc.constantFrom("default", "harder")),
    model_provider: absentNullOr(text),
    model_name: absentNullOr(text),
    llm_reasoning_effort: absentNullOr(fc.constantFrom("low", "medium", "high", "xhigh")),
    disable_attachment_injection: absentNullOr(fc.boolean()),
    deep_planning: absentNullOr(
      fc.record({
        enabled: absentNullOr(fc.boolean()),
        tasks: absentNullOr(fc.array(fc.record({ id: nonEmpty, title: text }), { maxLength: 2 })),
      }),
    ),
    return_metrics: absentNullOr(fc.boolean()),
    used_tools: absentNullOr(fc.array(text, { maxLength: 2 })),
    duration: absentNullOr(fc.integer({ min: 0, max: 1e9 }).map((millis) => millis / 1000)),
    environment_id: absentNullOr(nonEmpty),
    stop_reason: absentNullOr(text),
    stopped_by: absentNullOr(text),
    unannounced_field: absentNullOr(object),
  }),
  // Integers as a float-typed pipeline stores them: N "3.0".
  execution_attempts: absentNullOr(fc.integer({ min: 0, max: 1000 })),
  tokens: absentNullOr(
    fc.record({
      completion_tokens: absentNullOr(fc.integer({ min: 0, max: 1e6 })),
      prompt_tokens: absentNullOr(fc.integer({ min: 0, max: 1e6 })),
    }),
  ),
});

type StoredRecord = typeof storedRecord extends fc.Arbitrary<infer T> ? T : never;

const asFloat = (value: number): AttributeValue => ({ N: `${value}.0` });
const floatOrNull = (value: number | null | undefined): AttributeValue | undefined =>
  value === undefined ? undefined : value === null ? { NULL: true } : asFloat(value);

function toItem(id: string, record: StoredRecord): Record<string, AttributeValue> {
  const timestamps = Object.fromEntries(
    Object.entries(record.timestamps).map(([field, value]) => [field, value === null ? null : value?.stored]),
  );
  const item = marshall(
    {
      id,
      agent_id: "agent-stored",
      organization_id: "org-a",
      status: record.status,
      created_at: record.created_at.stored,
      ...timestamps,
      ...record.fields,
    },
    { removeUndefinedValues: true },
  );
  const attempts = floatOrNull(record.execution_attempts);
  if (attempts) item.execution_attempts = attempts;
  if (record.tokens === null) item.tokens = { NULL: true };
  else if (record.tokens) {
    const tokenItem: Record<string, AttributeValue> = {};
    for (const [name, value] of Object.entries(record.tokens)) {
      const attribute = floatOrNull(value);
      if (attribute) tokenItem[name] = attribute;
    }
    item.tokens = { M: tokenItem };
  }
  return item;
}

describe("records stored in any form the platform writes", () => {
  it("store, read with canonical timestamps, and stop with exactly one message to whoever runs it, whatever its ids", async () => {
    await fc.assert(
      fc.asyncProperty(storedRecord, async (record) => {
        const id = randomUUID();
        await served.aws.dynamoDb.send(
          new PutItemCommand({ TableName: served.aws.resources.tables.executions, Item: toItem(id, record) }),
        );
        // Whoever runs it has made its queue, as an owner does at start: its environment, else its worker.
        const { environment_id: environmentId, worker_id: workerId } = record.fields;
        const ownerQueue = environmentId
          ? await environmentQueue(served.aws, environmentId)
          : workerId
            ? await workerQueue(served.aws, workerId)
            : undefined;

        const got = await callApi(served.api, routeStyles.documented.get(id), KEY);
        expect(got.status).toBe(200);
        const body = JSON.parse(got.text);
        expect(body.created_at).toBe(record.created_at.canonical);
        for (const field of timestampFields) expect(body[field]).toBe(record.timestamps[field]?.canonical ?? null);
        expect(body.execution_attempts).toBe(record.execution_attempts ?? null);
        expect(body.is_manually_stopped).toBe(record.fields.is_manually_stopped ?? false);
        expect(body.mcp_servers).toEqual(record.fields.mcp_servers ?? []);

        const stop = await callApi(served.api, routeStyles.compatibility.stop(id), KEY);
        expect(stop.status).toBe(200);
        const stopped = JSON.parse(stop.text);
        const messages = ownerQueue ? await drainQueue(served.aws.sqs, ownerQueue) : [];
        if (isTerminal(record.status)) {
          expect(stopped).toEqual(body);
          expect(messages).toHaveLength(0);
        } else {
          expect(stopped).toMatchObject({ status: "stopped", is_manually_stopped: true });
          expect(stopped.stopped_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
          // Nothing is sent for a task no one runs yet; anything else gets exactly one message on its owner's queue.
          expect(messages.map((message) => JSON.parse(message.Body ?? "{}").task_id)).toEqual(ownerQueue ? [id] : []);
          expect(
            (await getStoredItem(served.aws.dynamoDb, served.aws.resources.tables.executions, id))
              ?.signal_pending_since,
          ).toBeUndefined();
        }
      }),
      { numRuns: 60 },
    );
  });
});
