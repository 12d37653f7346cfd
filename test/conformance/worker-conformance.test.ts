import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatChecks, runConformanceOn, startConformanceStack } from "../../conformance/local-stack.js";
import type { ConformanceCheck } from "../../conformance/suite.js";
import type { LocalStackProcess } from "../support/local-stack-process.js";

/**
 * `npm run conformance` against the workers this repository ships, and against a worker written
 * from docs/stop-delivery.md alone (the suite's negative control): the same suite, on one local
 * stack (`npm start`), each worker under an id of its own.
 */
const WORKERS = {
  typescript: "npm run --silent worker -- --tasks-from-stdin",
  python: "PYTHONPATH=workers/python python3 -m stop_task_worker.demo --tasks-from-stdin",
  naive: "python3 test/fixtures/workers/naive_worker.py",
} as const;

const RUN_TIMEOUT_MS = 240_000;

let local: LocalStackProcess;

beforeAll(async () => {
  local = await startConformanceStack(mkdtempSync(join(tmpdir(), "stop-task-conformance-")));
}, 120_000);

afterAll(async () => {
  await local?.stop();
});

function failedChecks(checks: readonly ConformanceCheck[]): string[] {
  return checks.filter((check) => !check.passed).map((check) => check.name);
}

describe("the worker conformance suite", () => {
  it(
    "passes the TypeScript reference worker on every check",
    async () => {
      const checks = await runConformanceOn(local, WORKERS.typescript);
      expect(failedChecks(checks), formatChecks(WORKERS.typescript, checks)).toEqual([]);
      expect(checks.length).toBeGreaterThanOrEqual(14);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    "passes the Python worker kit on every check",
    async () => {
      const checks = await runConformanceOn(local, WORKERS.python);
      expect(failedChecks(checks), formatChecks(WORKERS.python, checks)).toEqual([]);
      expect(checks.length).toBeGreaterThanOrEqual(14);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    "fails a worker that halts its tasks but never heartbeats or acknowledges, on exactly those counts",
    async () => {
      const checks = await runConformanceOn(local, WORKERS.naive);
      expect(failedChecks(checks), formatChecks(WORKERS.naive, checks)).toEqual([
        "heartbeat: each task enters the liveness index",
        "heartbeat: keeps each task there",
        "stop: halts its task and is acknowledged",
        // It reads only `task_id`: a version-2 message halts its task.
        "messages not its own (malformed, version 2, another type, another worker's): set aside",
        "stop while down: the waiting message reaches it when it returns",
        "stop while down, message lost: halted at its next heartbeat",
        "stop after its return: halts and is acknowledged",
        "no stop re-sent or flagged",
      ]);
    },
    RUN_TIMEOUT_MS,
  );
});
