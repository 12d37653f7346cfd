import { readFileSync } from "node:fs";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { describe, expect, it } from "vitest";
import { OWNER_QUEUE_ACTIONS } from "../../infra/constructs/signal-queue.js";
import { workerSignalChannel } from "../../lib/resources.js";
import { ownerQueueId, signalQueueName } from "../../lib/signals/queue-names.js";
import { stopMessageSchema } from "../../lib/signals/stop-message.js";
import { dynamoWorkerExecutionUpdates, type WorkerExecutionUpdates } from "../../lib/worker/execution-updates.js";

/**
 * docs/worker-protocol.md is what a worker in another language is written from: its DynamoDB requests, queue names
 * and example message are checked here against what the TypeScript library really does, so the page cannot drift.
 */

const doc = readFileSync("docs/worker-protocol.md", "utf8");

/** The JSON block that follows `<!-- protocol-<kind>: <name> -->` in the page. */
function documentedJson(kind: string, name: string): unknown {
  const block = new RegExp(`<!-- protocol-${kind}: ${name} -->\\s*\`\`\`json\\n([\\s\\S]*?)\`\`\``).exec(doc);
  if (!block?.[1]) throw new Error(`docs/worker-protocol.md has no ${kind} block named ${name}`);
  return JSON.parse(block[1]);
}

/** The UpdateItem requests the library sends, with the page's task, worker, table and clock. */
async function sentRequests(write: (updates: WorkerExecutionUpdates) => Promise<unknown>): Promise<unknown[]> {
  const sent: unknown[] = [];
  const client = {
    send: async (command: { input: unknown }) => {
      sent.push(command.input);
      return {};
    },
  } as unknown as DynamoDBClient;
  await write(
    dynamoWorkerExecutionUpdates(client, "stop-task-dev-executions", () => new Date("2026-12-04T10:00:00.000Z")),
  );
  return sent;
}

const TASK = "6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e";
const WORKER = "worker-7";

describe("docs/worker-protocol.md shows the requests the worker library sends", () => {
  it.each<[string, (updates: WorkerExecutionUpdates) => Promise<unknown>]>([
    ["heartbeat", (updates) => updates.heartbeat(TASK, WORKER)],
    ["acknowledge", (updates) => updates.acknowledgeStop(TASK, { workerId: WORKER })],
    ["acknowledge-environment", (updates) => updates.acknowledgeStop(TASK, { environmentId: "env-onprem-eu" })],
    ["complete", (updates) => updates.complete(TASK, WORKER, "finished 3 steps")],
  ])("%s", async (name, write) => {
    expect(await sentRequests(write)).toEqual([documentedJson("write", name)]);
  });

  it("fail: the completion's request with the status failed and the error as the result", async () => {
    const completion = documentedJson("write", "complete") as { ExpressionAttributeValues: Record<string, unknown> };
    expect(await sentRequests((updates) => updates.fail(TASK, WORKER, "boom"))).toEqual([
      {
        ...completion,
        ExpressionAttributeValues: {
          ...completion.ExpressionAttributeValues,
          ":status": { S: "failed" },
          ":result": { S: "boom" },
        },
      },
    ]);
  });
});

describe("docs/worker-protocol.md's queue names are the ones the stop function derives", () => {
  const section = doc.split("<!-- protocol-vectors: queue-names -->")[1]?.split("\n\n")[0] ?? "";
  const rows = section
    .split("\n")
    .map((line) => [...line.matchAll(/`([^`]+)`/g)].map((match) => match[1] as string))
    .filter((cells) => cells.length === 3) as [string, string, string][];

  it("lists every case: as is, unsafe characters, too long, a hashed-looking ending, characters beyond the BMP", () => {
    expect(rows.length).toBeGreaterThanOrEqual(6);
  });

  it.each(rows)("%s", (ownerId, queueName, queueId) => {
    expect(signalQueueName("stop-task-prod-worker-", ownerId)).toBe(queueName);
    expect(ownerQueueId("stop-task-prod-worker-", ownerId)).toBe(queueId);
  });
});

describe("docs/worker-protocol.md's example stop message", () => {
  it("is one the reference worker reads", () => {
    expect(stopMessageSchema.safeParse(documentedJson("example", "stop-message")).success).toBe(true);
  });
});

describe("docs/worker-protocol.md's owner policy", () => {
  it("grants the owner actions of the stack's construct on the queue its principal tag names, and UpdateItem", () => {
    const policy = documentedJson("example", "owner-policy") as {
      Statement: { Action: string | string[]; Resource: string }[];
    };
    expect(policy.Statement.map((statement) => statement.Action)).toEqual([
      [...OWNER_QUEUE_ACTIONS],
      "dynamodb:UpdateItem",
    ]);
    expect(policy.Statement[0]?.Resource).toMatch(
      new RegExp(
        `:<prefix>-${workerSignalChannel.ownerQueuePart}-\\$\\{aws:PrincipalTag/${workerSignalChannel.ownerPrincipalTag}\\}$`,
      ),
    );
  });
});
