/**
 * The Python worker kit (workers/python) against the same emulators and the same stop function as
 * the TypeScript reference worker. This file provisions an isolated stack and serves, on loopback,
 * a few calls into the TypeScript side (the real stop function, the TypeScript worker's queue and
 * writes on a twin task, the factories' seeding); then it runs the pytest suite, which drives both
 * sides and compares what they store. Its assertion is pytest's exit code; pytest's output is shown
 * on failure.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ownerQueueSettings } from "../../../infra/local/provision.js";
import { livenessIndexKeys } from "../../../lib/executions/indexes.js";
import { signalQueueName } from "../../../lib/signals/queue-names.js";
import { dynamoWorkerExecutionUpdates } from "../../../lib/worker/execution-updates.js";
import { ensureSignalQueue } from "../../../lib/worker/signal-queue.js";
import { anExecution, aStopRequest } from "../../support/factories.js";
import { type LocalAws, provisionIsolatedStack, putItem, storeApiKey } from "../../support/local-aws.js";
import { stopTaskHarness } from "../../support/stop-task-harness.js";

const KEY = `sk-python-${randomUUID()}`;
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const PYTEST_TIMEOUT_MS = 240_000;

let aws: LocalAws;
let server: Server;
let controlUrl: string;

type Call = Record<string, string | undefined>;

/** The TypeScript side, as the pytest suite calls it: every call a JSON body in, a JSON answer out. */
function calls(): Record<string, (body: Call) => Promise<unknown>> {
  const updates = dynamoWorkerExecutionUpdates(aws.dynamoDb, aws.resources.tables.executions);
  const channel = (name: string | undefined) =>
    name === "environments" ? aws.resources.signal_channels.environments : aws.resources.signal_channels.workers;
  const text = (value: string | undefined) => value ?? "";
  return {
    /** The real stop function, called as API Gateway calls it. */
    stop: async ({ task_id }) => ({
      status: (await stopTaskHarness(aws).http(aStopRequest(text(task_id), KEY))).statusCode,
    }),
    /** A running task seeded as the TypeScript tests seed one (factories, liveness keys). */
    seed: async ({ worker_id, environment_id }) => {
      const execution = anExecution({
        status: "executing",
        worker_id,
        started_at: new Date().toISOString(),
        ...(environment_id ? { environment_id } : {}),
      });
      await putItem(aws.dynamoDb, aws.resources.tables.executions, { ...execution, ...livenessIndexKeys(execution) });
      return { task_id: execution.id };
    },
    queue_name: async ({ prefix, owner_id }) => ({ name: signalQueueName(text(prefix), text(owner_id)) }),
    ensure_queue: async ({ channel: name, owner_id }) => ({
      url: await ensureSignalQueue(aws.sqs, ownerQueueSettings(channel(name)), text(owner_id)),
    }),
    heartbeat: async ({ task_id, worker_id }) => ({ result: await updates.heartbeat(text(task_id), text(worker_id)) }),
    acknowledge: async ({ task_id, worker_id, environment_id }) => ({
      result: await updates.acknowledgeStop(
        text(task_id),
        environment_id !== undefined ? { environmentId: environment_id } : { workerId: text(worker_id) },
      ),
    }),
    complete: async ({ task_id, worker_id, result }) => ({
      result: await updates.complete(text(task_id), text(worker_id), text(result)),
    }),
    /** The UpdateItem requests the TypeScript writes send, captured before they leave (nothing is written). */
    requests: async ({ task_id, worker_id, environment_id, at }) => {
      const sent: unknown[] = [];
      const capture = {
        send: async (command: { input: unknown }) => {
          sent.push(command.input);
          return {};
        },
      } as unknown as DynamoDBClient;
      const captured = dynamoWorkerExecutionUpdates(capture, "the-table", () => new Date(text(at)));
      const id = text(task_id);
      const worker = text(worker_id);
      await captured.heartbeat(id, worker);
      await captured.acknowledgeStop(id, { workerId: worker });
      await captured.acknowledgeStop(id, { environmentId: text(environment_id) });
      await captured.complete(id, worker, "the result");
      await captured.fail(id, worker, "the error");
      const [heartbeat, acknowledgeWorker, acknowledgeEnvironment, complete, fail] = sent;
      return {
        heartbeat,
        acknowledge_worker: acknowledgeWorker,
        acknowledge_environment: acknowledgeEnvironment,
        complete,
        fail,
      };
    },
    fail: async ({ task_id, worker_id, result }) => ({
      result: await updates.fail(text(task_id), text(worker_id), text(result)),
    }),
  };
}

function serveCalls(): Promise<string> {
  const handlers = calls();
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => {
      body += chunk.toString("utf8");
    });
    request.on("end", () => {
      const handler = handlers[(request.url ?? "").replace(/^\//, "")];
      const answer = handler
        ? handler(JSON.parse(body || "{}") as Call).then((value) => [200, value] as const)
        : Promise.resolve([404, { error: `no call ${request.url}` }] as const);
      answer
        .catch((error: unknown) => [500, { error: String(error) }] as const)
        .then(([status, value]) => {
          response.writeHead(status, { "content-type": "application/json" });
          response.end(JSON.stringify(value));
        });
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

beforeAll(async () => {
  aws = await provisionIsolatedStack({ workers: [] });
  await storeApiKey(aws, { key: KEY, organizationId: "org-a", keyId: "key-a" });
  controlUrl = await serveCalls();
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
});

function runPytest(): Promise<{ code: number | null; output: string }> {
  const stack = {
    region: "us-east-1",
    dynamodb_endpoint: inject("dynamoDbEndpoint"),
    sqs_endpoint: inject("sqsEndpoint"),
    tables: aws.resources.tables,
    signal_channels: aws.resources.signal_channels,
  };
  return new Promise((resolve, reject) => {
    const child = spawn("python3", ["-m", "pytest", "workers/python/tests", "-q", "-rA", "-p", "no:cacheprovider"], {
      cwd: ROOT,
      env: {
        ...process.env,
        PYTHONPATH: "workers/python",
        PYTHONDONTWRITEBYTECODE: "1",
        STOP_TASK_TEST_STACK: JSON.stringify(stack),
        STOP_TASK_TEST_CONTROL: controlUrl,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), PYTEST_TIMEOUT_MS);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe("the Python worker kit", () => {
  it(
    "passes its pytest suite against the local emulators and the real stop function",
    async () => {
      const { code, output } = await runPytest();
      // Kept for a look after the run (CI can upload it): pytest's own summary, every case named.
      await mkdir(join(ROOT, ".local"), { recursive: true });
      await writeFile(join(ROOT, ".local", "python-kit-pytest.txt"), output);
      expect(code, output).toBe(0);
      expect(output).toMatch(/\d+ passed/);
    },
    PYTEST_TIMEOUT_MS + 10_000,
  );
});
