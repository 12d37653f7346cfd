import { randomUUID } from "node:crypto";
import type { APIGatewayProxyResult } from "aws-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import { toApiGatewayProxyEvent } from "../../../infra/local/api-gateway-event.js";
import { countAwsCalls } from "../../support/aws-call-counter.js";
import { aLambdaContext, anExecution } from "../../support/factories.js";
import { getTaskHandler } from "../../support/get-task-harness.js";
import {
  drainQueue,
  getStoredItem,
  type LocalAws,
  localDynamoDbClient,
  provisionIsolatedStack,
  putItem,
  storeApiKey,
  workerQueueUrl,
} from "../../support/local-aws.js";

const KEY = `sk-get-${randomUUID()}`;
let aws: LocalAws;

beforeAll(async () => {
  aws = await provisionIsolatedStack();
  await storeApiKey(aws, { key: KEY, organizationId: "org-a", keyId: "key-a" });
});

function getTaskService() {
  const dynamoDb = localDynamoDbClient();
  const counter = countAwsCalls(dynamoDb);
  const handler = getTaskHandler(aws, dynamoDb);
  const get = async (taskId: string, apiKey?: string) =>
    (await handler(
      toApiGatewayProxyEvent({
        method: "GET",
        path: `/v1/tasks/${taskId}`,
        resource: "/v1/tasks/{task_id}",
        pathParameters: { task_id: taskId },
        rawHeaders: apiKey === undefined ? [] : [["x-api-key", apiKey]],
        body: null,
      }),
      aLambdaContext(),
    )) as APIGatewayProxyResult;
  return { get, counter };
}

async function seed(overrides: Parameters<typeof anExecution>[0] = {}) {
  const execution = anExecution(overrides);
  await putItem(aws.dynamoDb, aws.resources.tables.executions, execution);
  return execution;
}

describe("Get Task", () => {
  it("returns the record with one GetItem, writing nothing and sending nothing", async () => {
    const execution = await seed({ status: "executing", version: 2 });
    const before = await getStoredItem(aws.dynamoDb, aws.resources.tables.executions, execution.id);
    const service = getTaskService();
    await service.get(randomUUID(), KEY);
    service.counter.reset();

    const response = await service.get(execution.id, KEY);

    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({
      id: execution.id,
      status: "executing",
      title: null,
      mcp_servers: [],
    });
    expect(JSON.parse(response.body)).not.toHaveProperty("version");
    expect(service.counter.calls).toEqual(["GetItemCommand"]);
    expect(await getStoredItem(aws.dynamoDb, aws.resources.tables.executions, execution.id)).toEqual(before);
    expect(await drainQueue(aws.sqs, workerQueueUrl(aws))).toEqual([]);
  });

  it("says 401 before 422 and before 404", async () => {
    const service = getTaskService();
    expect((await service.get("not-a-uuid")).statusCode).toBe(401);
    expect((await service.get(randomUUID(), "sk-nope")).statusCode).toBe(401);
  });

  it("answers 403 for another organization's task, 404 for an unknown one, 422 for a malformed id", async () => {
    const foreign = await seed({ organization_id: "org-b" });
    const service = getTaskService();
    const forbidden = await service.get(foreign.id, KEY);
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.body).not.toContain(foreign.agent_id);
    expect((await service.get(randomUUID(), KEY)).statusCode).toBe(404);
    expect(JSON.parse((await service.get("nope", KEY)).body)).toEqual({
      detail: [{ loc: ["path", "task_id"], msg: "Input should be a valid UUID", type: "uuid_parsing" }],
    });
  });
});
