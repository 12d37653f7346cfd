import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTaskClient } from "../../../lib/client.js";
import { type ExecutionStreamHarness, startExecutionStream } from "../../support/execution-stream-harness.js";
import { useInProcessApi } from "../../support/in-process-api.js";
import { drainEvents, drainStopMessages, storedExecution, storeTree } from "../../support/task-tree.js";

const KEY = `sk-client-tree-${randomUUID()}`;
const served = useInProcessApi(KEY);
let stream: ExecutionStreamHarness;

beforeAll(async () => {
  stream = await startExecutionStream(served.aws);
});

afterAll(async () => {
  await stream?.stop();
});

describe("stopAndWait with includeSubExecutions, over HTTP, with the stream processor running", () => {
  it("returns once every sub-execution the stop reaches is terminal, each as Get Task shows it", async () => {
    const stored = await storeTree(served.aws, {
      name: "root",
      children: [
        { name: "a", children: [{ name: "a1" }, { name: "a2", status: "paused" }] },
        { name: "b", status: "completed", children: [{ name: "b1" }] },
        { name: "c", organization: "org-b" },
      ],
    });
    await stream.settled();
    const client = createTaskClient({ baseUrl: served.api.url, apiKey: KEY });

    const root = await client.stopAndWait(stored.ids.root ?? "", {
      includeSubExecutions: true,
      reason: "Shutting the run down",
      timeoutMs: 20_000,
      intervalMs: 50,
    });

    expect(root).toMatchObject({ status: "stopped", stop_note: "Shutting the run down" });
    // By the time it returns, Get Task shows each reached sub-execution stopped, with the parent's note.
    for (const name of ["a", "a1", "a2"]) {
      expect(await client.getTask(stored.ids[name] ?? ""), name).toMatchObject({
        status: "stopped",
        stop_reason: "parent_stopped",
        stop_note: "Shutting the run down",
      });
    }
    // A completed sub-execution ends its branch; another organization's is never touched.
    expect((await storedExecution(served.aws, stored.ids.b1 ?? ""))?.status).toBe("executing");
    expect((await storedExecution(served.aws, stored.ids.c ?? ""))?.status).toBe("executing");
    await stream.settled();
    expect(await drainStopMessages(served.aws)).toHaveLength(4);
    expect(await drainEvents(served.aws)).toHaveLength(4);
  });
});
