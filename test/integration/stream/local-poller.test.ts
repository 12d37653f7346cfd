import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { putOrganizationLimits } from "../../../lib/executions/limits-store.js";
import { type ExecutionStreamHarness, startExecutionStream } from "../../support/execution-stream-harness.js";
import { anExecution } from "../../support/factories.js";
import { type LocalAws, provisionIsolatedStack, putItem } from "../../support/local-aws.js";
import { drainEvents, storedExecution } from "../../support/task-tree.js";

let aws: LocalAws;
let stream: ExecutionStreamHarness;

beforeAll(async () => {
  aws = await provisionIsolatedStack();
  // The poller takes its iterators while the executions table's stream is still empty.
  stream = await startExecutionStream(aws);
  await stream.settled();
});

afterAll(async () => {
  await stream?.stop();
});

/**
 * DynamoDB Local answers TrimmedDataAccessException for an iterator taken on an empty shard once
 * anything else is written (here: another table). The poller must take a fresh iterator and carry
 * on, as Lambda's event source mapping does, instead of retrying the dead one forever.
 */
it("keeps reading the stream after another table is written while its shard was empty", async () => {
  await putOrganizationLimits(aws.dynamoDb, aws.resources.tables.limits, `org-${randomUUID().slice(0, 8)}`, {
    max_tokens: 10,
  });
  const parent = anExecution({ status: "stopped", stop_reason: "user_requested" });
  // A sub-execution recorded after its parent stopped is stopped by the stream processor.
  const child = anExecution({
    organization_id: parent.organization_id,
    worker_id: parent.worker_id,
    parent_execution: parent.id,
  });
  await putItem(aws.dynamoDb, aws.resources.tables.executions, parent);
  await putItem(aws.dynamoDb, aws.resources.tables.executions, child);
  await stream.settled(10_000);
  expect((await storedExecution(aws, child.id as string))?.status).toBe("stopped");
  await drainEvents(aws);
});
