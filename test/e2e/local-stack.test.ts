import { spawnSync } from "node:child_process";
import { mkdtempSync, realpathSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canConnect, localClientOptions } from "../../infra/local/emulators.js";
import { ownerQueueSettings } from "../../infra/local/provision.js";
import { hashApiKey } from "../../lib/auth/api-keys.js";
import { createSqsClient } from "../../lib/aws/clients.js";
import { ensureSignalQueue } from "../../lib/worker/signal-queue.js";
import { drainQueue } from "../support/local-aws.js";
import {
  type LocalStackProcess,
  pidsMentioning,
  spawnNpmStart,
  startLocalStack,
  waitForExit,
} from "../support/local-stack-process.js";

const SEED = resolve("test/e2e/fixtures/seed.json");
const MALFORMED_SEED = resolve("test/e2e/fixtures/malformed-seed.json");
const ALPHA_KEY = "sk_e2e_org_alpha_key";
const EXECUTING = "11111111-1111-4111-8111-111111111111";
const SELF_HOSTED = "22222222-2222-4222-8222-222222222222";
const COMPLETED = "33333333-3333-4333-8333-333333333333";
const BETA_TASK = "44444444-4444-4444-8444-444444444444";
/**
 * Seeded the way the platform's Python services write records: isoformat(), naive and space-separated times, explicit
 * nulls.
 */
const PYTHON_WRITTEN = "55555555-5555-4555-8555-555555555555";
const PENDING_NULL_START = "66666666-6666-4666-8666-666666666666";

let local: LocalStackProcess;
/** The own queues of the seed's workers and environment, made as each makes it at start. */
const queues = { workerA: "", workerPy: "", envOnprem: "" };

beforeAll(async () => {
  // Stops are due for a re-send at once, and only `npm run cleanup` (no timer) re-sends them.
  local = await startLocalStack(SEED, { env: { SIGNAL_ACK_TIMEOUT_SECONDS: "0", CLEANUP_INTERVAL_SECONDS: "0" } });
  const { workers, environments } = local.stack.signal_channels;
  [queues.workerA, queues.workerPy, queues.envOnprem] = await Promise.all([
    ensureSignalQueue(sqs(), ownerQueueSettings(workers), "worker-a"),
    ensureSignalQueue(sqs(), ownerQueueSettings(workers), "worker-py"),
    ensureSignalQueue(sqs(), ownerQueueSettings(environments), "env-onprem"),
  ]);
}, 90_000);

afterAll(async () => {
  await local?.stop();
  // Everything npm start printed while serving this file: no seeded key, nor its hash.
  for (const key of [ALPHA_KEY, "sk_e2e_org_beta_key", "sk_e2e_revoked_key"]) {
    expect(local.output()).not.toContain(key);
    expect(local.output()).not.toContain(hashApiKey(key));
  }
});

function stop(taskId: string, apiKey?: string, method = "POST") {
  return fetch(`${local.stack.api_url}/v1/tasks/${taskId}/stop`, {
    method,
    headers: apiKey ? { "x-api-key": apiKey } : {},
  });
}

function sqs() {
  return createSqsClient({ ...localClientOptions, endpoint: local.stack.sqs_endpoint });
}

function runKeys(...args: string[]) {
  const result = spawnSync("npm", ["run", "--silent", "keys", "--", ...args, "--stack-file", local.stackFile], {
    encoding: "utf8",
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("npm start serves the API over HTTP on the seeded stack", () => {
  it("writes the stack file other tools read", () => {
    expect(local.stack).toMatchObject({
      api_url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      region: "us-east-1",
      tables: { executions: "local-executions", api_keys: "local-api-keys" },
      signal_channels: {
        workers: {
          name_prefix: "local-worker-",
          url_prefix: expect.stringMatching(/\/local-worker-$/),
          dead_letter_url: expect.stringContaining("local-stop-signals-dlq"),
        },
        environments: {
          name_prefix: "local-env-",
          url_prefix: expect.stringMatching(/\/local-env-$/),
          dead_letter_url: expect.stringContaining("local-asset-commands-dlq"),
        },
      },
      queues: {
        events: expect.stringContaining("local-task-events"),
        execution_stream_failures: expect.stringContaining("local-execution-stream-failures"),
      },
    });
    expect(queues.workerA).toBe(`${local.stack.signal_channels.workers.url_prefix}worker-a`);
  });

  it("stops an executing task and puts one stop message on its worker's own queue", async () => {
    const response = await stop(EXECUTING, ALPHA_KEY);

    expect(response.status).toBe(200);
    expect(response.headers.get("x-request-id")).toBeTruthy();
    expect(await response.json()).toMatchObject({
      id: EXECUTING,
      status: "stopped",
      is_manually_stopped: true,
      stopped_by: "key_alpha",
    });
    const messages = await drainQueue(sqs(), queues.workerA, { waitSeconds: 1 });
    expect(messages.map((message) => JSON.parse(message.Body ?? "{}"))).toEqual([
      expect.objectContaining({
        type: "task.stop",
        task_id: EXECUTING,
        worker_id: "worker-a",
        organization_id: "org-alpha",
      }),
    ]);
  });

  it("routes a self-hosted task's stop to its environment's asset-command queue", async () => {
    const response = await stop(SELF_HOSTED, ALPHA_KEY);
    expect(response.status).toBe(200);
    const messages = await drainQueue(sqs(), queues.envOnprem, { waitSeconds: 1 });
    expect(messages.map((message) => JSON.parse(message.Body ?? "{}"))).toEqual([
      expect.objectContaining({ task_id: SELF_HOSTED, environment_id: "env-onprem" }),
    ]);
  });

  it("reads and stops records written the way the platform's Python services write them", async () => {
    const got = await fetch(`${local.stack.api_url}/v1/tasks/${PYTHON_WRITTEN}`, {
      headers: { "x-api-key": ALPHA_KEY },
    });
    expect(got.status).toBe(200);
    expect(await got.json()).toMatchObject({
      created_at: "2026-12-01T09:00:00.123456Z",
      started_at: "2026-12-01T09:00:01.500000Z",
      execution_attempts: 2,
      is_manually_stopped: false,
      mcp_servers: [],
      title: null,
    });

    const stopped = await stop(PENDING_NULL_START, ALPHA_KEY);
    expect(stopped.status).toBe(200);
    expect(await stopped.json()).toMatchObject({
      status: "stopped",
      created_at: "2026-12-01T09:00:00.123456Z",
      started_at: null,
      worker_id: null,
    });
    // No worker runs it yet: there is no one to tell.
    expect(await drainQueue(sqs(), queues.workerA)).toEqual([]);
  });

  it("answers every row of the reference's status table", async () => {
    expect((await stop(COMPLETED, ALPHA_KEY)).status).toBe(200);
    expect((await stop(EXECUTING, undefined)).status).toBe(401);
    expect((await stop(EXECUTING, "sk_e2e_revoked_key")).status).toBe(401);
    expect((await stop(BETA_TASK, ALPHA_KEY)).status).toBe(403);
    expect((await stop("aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", ALPHA_KEY)).status).toBe(404);
    const invalid = await stop("not-a-uuid", ALPHA_KEY);
    expect(invalid.status).toBe(422);
    expect(await invalid.json()).toEqual({
      detail: [{ loc: ["path", "task_id"], msg: "Input should be a valid UUID", type: "uuid_parsing" }],
    });
    expect(await drainQueue(sqs(), queues.workerA)).toEqual([]);
  });

  it("answers a wrong method on a known route as an unknown route: 404 Not Found, as the deployed API does", async () => {
    const wrongMethod = await stop(EXECUTING, ALPHA_KEY, "GET");
    expect(wrongMethod.status).toBe(404);
    expect(wrongMethod.headers.get("allow")).toBeNull();
    expect(await wrongMethod.json()).toEqual({ detail: "Not Found" });
    const unknown = await fetch(`${local.stack.api_url}/v2/nothing`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ detail: "Not Found" });
  });
});

describe("npm start -- --throttle RATE,BURST", () => {
  it("answers 429 with Retry-After once the burst is spent, in the deployed API's shape", async () => {
    // One request's worth of tokens every 10 s: the third of three quick requests finds none.
    const throttled = await startLocalStack(SEED, {
      args: ["--throttle", "0.1,2"],
      env: { CLEANUP_INTERVAL_SECONDS: "0" },
    });
    try {
      const responses: Response[] = [];
      for (let attempt = 0; attempt < 3; attempt++) {
        responses.push(
          await fetch(`${throttled.stack.api_url}/v1/tasks/${COMPLETED}`, { headers: { "x-api-key": ALPHA_KEY } }),
        );
      }

      expect(responses.map((response) => response.status)).toEqual([200, 200, 429]);
      const [, , refused] = responses;
      expect(refused?.headers.get("retry-after")).toBe("1");
      expect(refused?.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
      expect(await refused?.json()).toEqual({ detail: "Too many requests, please retry" });
      expect(throttled.output()).toContain("throttled at 0.1 requests/s, bursts of 2");
    } finally {
      await throttled.stop();
    }
  }, 90_000);

  it("refuses a malformed --throttle in one line, before starting anything", async () => {
    const { child, output } = spawnNpmStart(["--seed", SEED, "--throttle", "fast"], { PORT: "0" });
    expect(await waitForExit(child)).toBe(1);
    expect(output()).toContain("--throttle takes RATE,BURST");
    expect(
      output()
        .trim()
        .split("\n")
        .filter((line) => line.startsWith("npm start:")),
    ).toHaveLength(1);
  }, 60_000);
});

describe("npm run keys administers keys on the local stack", () => {
  it("creates a key that works at once and revokes a key so it no longer does", async () => {
    const created = runKeys("create", "--org", "org-gamma");
    expect(created.status, created.stderr).toBe(0);
    const issued = JSON.parse(created.stdout.trim().split("\n").at(-1) ?? "{}");
    expect(issued).toMatchObject({
      key: expect.stringMatching(/^sk_/),
      key_id: expect.stringMatching(/^key_/),
      organization_id: "org-gamma",
    });
    // A task of another organization proves the key authenticates (403, not 401).
    expect((await stop(EXECUTING, issued.key)).status).toBe(403);

    const second = JSON.parse(runKeys("create", "--org", "org-gamma").stdout.trim().split("\n").at(-1) ?? "{}");
    const revoked = runKeys("revoke", "--key-id", second.key_id);
    expect(revoked.status, revoked.stderr).toBe(0);
    expect((await stop(EXECUTING, second.key)).status).toBe(401);
  });

  it("fails clearly when revoking a key id that does not exist", () => {
    const result = runKeys("revoke", "--key-id", "key_nope");
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("no key with key_id key_nope");
  });
});

describe("npm run cleanup runs one cleanup against the local stack", () => {
  it("re-sends the signals of the stops no worker acknowledged, closes the one no worker ran, and reports it", async () => {
    // The stops of EXECUTING and SELF_HOSTED earlier in this file were never acknowledged; PENDING_NULL_START
    // has no worker to tell; PYTHON_WRITTEN started hours ago and no worker ever sent a heartbeat for it: it
    // is stopped as stale. All the queues were made a moment ago: the sweep deletes none.
    const result = spawnSync("npm", ["run", "--silent", "cleanup", "--", "--stack-file", local.stackFile], {
      encoding: "utf8",
    });

    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout.trim().split("\n").at(-1) ?? "{}")).toMatchObject({
      redriven: 2,
      closedUnassigned: 1,
      stoppedStale: 1,
      failures: 0,
      truncated: false,
      sweep: { examined: 3, deleted: 0, failures: 0 },
    });
    const received = await Promise.all(
      [queues.workerA, queues.workerPy, queues.envOnprem].map((url) => drainQueue(sqs(), url, { waitSeconds: 1 })),
    );
    expect(received.map((messages) => messages.map((message) => JSON.parse(message.Body ?? "{}").task_id))).toEqual([
      [EXECUTING],
      [PYTHON_WRITTEN],
      [SELF_HOSTED],
    ]);
  });
});

describe("npm start runs the stream processor: a stop reaches the whole tree, and each stop is an event", () => {
  const ORCHESTRATOR = "77777777-7777-4777-8777-777777777770";
  const reached = [
    ORCHESTRATOR,
    "77777777-7777-4777-8777-777777777771",
    "77777777-7777-4777-8777-777777777772",
    "77777777-7777-4777-8777-777777777773",
  ];
  const untouched = ["77777777-7777-4777-8777-777777777774", "77777777-7777-4777-8777-777777777775"];

  it("stops the orchestrator's running descendants within seconds, and queues.events holds one Task Stopped per stopped node", async () => {
    await drainQueue(sqs(), local.stack.queues.events);
    const response = await fetch(`${local.stack.api_url}/v1/tasks/${ORCHESTRATOR}/stop`, {
      method: "POST",
      headers: { "x-api-key": ALPHA_KEY },
      body: JSON.stringify({ reason: "The brief was wrong" }),
    });
    expect(await response.json()).toMatchObject({ status: "stopped", stop_note: "The brief was wrong" });

    const startedAt = Date.now();
    const grandchild = async () =>
      (await (
        await fetch(`${local.stack.api_url}/v1/tasks/${reached[2]}`, { headers: { "x-api-key": ALPHA_KEY } })
      ).json()) as { status: string };
    while ((await grandchild()).status !== "stopped") {
      expect(Date.now() - startedAt, "the grandchild was not stopped within 10 s").toBeLessThan(10_000);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await grandchild()).toMatchObject({
      status: "stopped",
      stop_reason: "parent_stopped",
      stopped_by: `parent_execution:${reached[1]}`,
      stop_note: "The brief was wrong",
    });

    // Give the stream a moment to drain, then every event: one Task Stopped per stopped node, none for the rest.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    // (Events of the stops earlier in this file may still be arriving: only this tree's are counted.)
    const tree = [...reached, ...untouched];
    const events = (await drainQueue(sqs(), local.stack.queues.events, { waitSeconds: 1 }))
      .map((message) => JSON.parse(message.Body ?? "{}"))
      .filter((event) => tree.includes(event.detail?.task_id));
    expect(events.map((event) => event["detail-type"])).toEqual(reached.map(() => "Task Stopped"));
    expect(events.map((event) => event.detail.task_id).sort()).toEqual([...reached].sort());
    expect(events.every((event) => event.source === "stop-task" && event.id && event.time)).toBe(true);
    expect(await drainQueue(sqs(), local.stack.queues.execution_stream_failures)).toEqual([]);
  });
});

describe("npm start fails fast and cleanly", () => {
  it("rejects a malformed fixture file naming the file, the entry and the field, with exit code 1", async () => {
    const { child, output } = spawnNpmStart(["--seed", MALFORMED_SEED]);
    const code = await waitForExit(child);
    expect(code).toBe(1);
    expect(output()).toContain(`${MALFORMED_SEED}: executions[1].status:`);
  });

  it("says in one line that Java is missing, when it is", async () => {
    // A PATH with node, npm and a shell, but no java.
    const bin = mkdtempSync(join(tmpdir(), "no-java-"));
    symlinkSync(process.execPath, join(bin, "node"));
    symlinkSync("/bin/sh", join(bin, "sh"));
    const npmPath = spawnSync("sh", ["-c", "command -v npm"], { encoding: "utf8" }).stdout.trim();
    symlinkSync(realpathSync(npmPath), join(bin, "npm"));
    const { child, output } = spawnNpmStart(["--seed", SEED], { PATH: bin, PORT: "0" });

    expect(await waitForExit(child)).toBe(1);
    expect(output()).toContain("java was not found: DynamoDB Local needs Java 17 or newer");
    expect(
      output()
        .trim()
        .split("\n")
        .filter((line) => line.startsWith("npm start:")),
    ).toHaveLength(1);
  }, 60_000);

  it("says in one line when the API port is in use", async () => {
    const { child, output } = spawnNpmStart(["--seed", SEED, "--stack-file", `${local.stackFile}.other`], {
      PORT: new URL(local.stack.api_url).port,
    });
    const code = await waitForExit(child);
    expect(code).toBe(1);
    expect(output()).toMatch(/port \d+ is already in use/);
    expect(pidsMentioning(`${local.stackFile}.other`)).toEqual([]);
  }, 60_000);
});

describe("shutdown", () => {
  it("stops everything it started on SIGTERM, Java included", async () => {
    const other = await startLocalStack(SEED);
    const dynamoDbPort = new URL(other.stack.dynamodb_endpoint).port;
    expect(pidsMentioning(`-port ${dynamoDbPort}`)).toHaveLength(1);

    const code = await other.stop();

    expect(code).toBe(0);
    expect(pidsMentioning(other.stackFile)).toEqual([]);
    expect(pidsMentioning(`-port ${dynamoDbPort}`)).toEqual([]);
    expect(await canConnect(Number(new URL(other.stack.api_url).port))).toBe(false);
  }, 90_000);
});
