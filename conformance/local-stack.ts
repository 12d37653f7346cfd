import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { demoSeed } from "../infra/local/demo-data.js";
import { loadFunctionHandler, pointFunctionsAt, useLocalProcessDefaults } from "../infra/local/functions.js";
import { createLocalCleanup, type InvokableHandler, inProcessStopInvoker } from "../infra/local/local-cleanup.js";
import type { StackFile } from "../infra/local/stack-file.js";
import { type LocalStackProcess, startLocalStack } from "../test/support/local-stack-process.js";
import { type ConformanceCheck, type ConformanceOptions, runConformance } from "./suite.js";

/**
 * `npm start` for the suite: the demo's API key and nothing else, and no periodic cleanup, so
 * that only the worker, its heartbeats and the suite's stops act; the suite runs the cleanup
 * itself, on a clock moved on.
 */
export async function startConformanceStack(workDirectory: string): Promise<LocalStackProcess> {
  const seedFile = join(workDirectory, "conformance-seed.json");
  writeFileSync(seedFile, JSON.stringify({ ...demoSeed(), executions: [] }));
  return startLocalStack(seedFile, { timeoutMs: 90_000, env: { CLEANUP_INTERVAL_SECONDS: "0" } });
}

/** The cleanup function's real handler on that stack, with the stop function in this process. */
export function laterCleanupOn(stack: StackFile): ConformanceOptions["runCleanupLater"] {
  useLocalProcessDefaults();
  pointFunctionsAt(stack);
  return async (byMs) => {
    const stopHandler = await loadFunctionHandler<InvokableHandler>("stop-task");
    const cleanup = createLocalCleanup(stack, inProcessStopInvoker(stopHandler), process.env, {
      now: () => new Date(Date.now() + byMs),
    });
    await cleanup.run();
  };
}

export function runConformanceOn(
  local: Pick<LocalStackProcess, "stack" | "stackFile">,
  workerCommand: string,
  options: Pick<ConformanceOptions, "cwd" | "workerId" | "progress"> = {},
): Promise<ConformanceCheck[]> {
  return runConformance({
    ...options,
    stack: local.stack,
    stackFile: local.stackFile,
    workerCommand,
    runCleanupLater: laterCleanupOn(local.stack),
  });
}

export function formatChecks(workerCommand: string, checks: readonly ConformanceCheck[]): string {
  const failed = checks.filter((check) => !check.passed).length;
  const width = Math.max(...checks.map((check) => check.name.length));
  return [
    `worker conformance: ${workerCommand}`,
    "",
    ...checks.map(
      (check) =>
        `  ${check.passed ? "pass" : "FAIL"}  ${check.name.padEnd(width)}  ${check.detail.split("\n").join("\n        ")}`,
    ),
    "",
    failed === 0 ? `all ${checks.length} checks passed` : `${failed} of ${checks.length} checks failed`,
  ].join("\n");
}
