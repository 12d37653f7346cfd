import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  createTaskClient,
  ForbiddenError,
  TaskNotFoundError,
  TaskValidationError,
  UnauthorizedError,
} from "../../../lib/client.js";
import { anExecution } from "../../support/factories.js";
import { useInProcessApi } from "../../support/in-process-api.js";
import { drainQueue, putItem, workerQueueUrl } from "../../support/local-aws.js";

const KEY = `sk-client-${randomUUID()}`;
const served = useInProcessApi(KEY);

async function seed(overrides: Parameters<typeof anExecution>[0] = {}) {
  const execution = anExecution({ organization_id: "org-a", ...overrides });
  await putItem(served.aws.dynamoDb, served.aws.resources.tables.executions, execution);
  return execution;
}

describe("the typed client against the local stack", () => {
  it("stops and confirms: stopAndWait returns the stopped record, and Get Task agrees", async () => {
    const execution = await seed();
    const client = createTaskClient({ baseUrl: served.api.url, apiKey: KEY });

    const stopped = await client.stopAndWait(execution.id, { timeoutMs: 5_000, intervalMs: 50 });

    expect(stopped).toMatchObject({ id: execution.id, status: "stopped", is_manually_stopped: true });
    expect(await client.getTask(execution.id)).toEqual(stopped);
    expect(await drainQueue(served.aws.sqs, workerQueueUrl(served.aws))).toHaveLength(1);
  });

  it("reads a task without changing it", async () => {
    const execution = await seed({ status: "paused" });
    const client = createTaskClient({ baseUrl: served.api.url, apiKey: KEY });
    expect(await client.getTask(execution.id)).toMatchObject({ status: "paused" });
    expect(await client.getTask(execution.id)).toMatchObject({ status: "paused" });
    expect(await drainQueue(served.aws.sqs, workerQueueUrl(served.aws))).toEqual([]);
  });

  it("gives typed errors for 401, 403, 404 and 422, each with the request id", async () => {
    const foreign = await seed({ organization_id: "org-b" });
    const client = createTaskClient({ baseUrl: served.api.url, apiKey: KEY });
    const anonymous = createTaskClient({ baseUrl: served.api.url, apiKey: "sk-wrong" });

    await expect(anonymous.stopTask(foreign.id)).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(client.stopTask(foreign.id)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(client.getTask(randomUUID())).rejects.toBeInstanceOf(TaskNotFoundError);
    const invalid = await client.stopTask("nope").catch((error: unknown) => error);
    expect(invalid).toBeInstanceOf(TaskValidationError);
    expect(invalid).toMatchObject({
      status: 422,
      issues: [{ loc: ["path", "task_id"] }],
      requestId: expect.any(String),
    });
  });
});
