/**
 * `npm run conformance -- --worker "<command>"`: starts the local stack, runs the worker command
 * against it as conformance/contract.ts says, judges it from outside (conformance/suite.ts), and
 * prints a table of checks. Exits 1 when any check fails.
 *
 *   npm run conformance -- --worker "npm run --silent worker -- --tasks-from-stdin"
 *   npm run conformance -- --worker "PYTHONPATH=workers/python python3 -m stop_task_worker.demo --tasks-from-stdin"
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { formatChecks, runConformanceOn, startConformanceStack } from "./local-stack.js";

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { worker: { type: "string" }, "worker-id": { type: "string" } } });
  if (!values.worker) {
    console.error('usage: npm run conformance -- --worker "<command>" [--worker-id ID]');
    return 2;
  }
  console.log("starting the local stack (DynamoDB Local, fauxqs, the functions)...");
  const local = await startConformanceStack(mkdtempSync(join(tmpdir(), "stop-task-conformance-")));
  try {
    const checks = await runConformanceOn(local, values.worker, {
      workerId: values["worker-id"],
      progress: (line) => console.log(`  ${line.split("\n")[0]}`),
    });
    console.log(`\n${formatChecks(values.worker, checks)}`);
    return checks.every((check) => check.passed) ? 0 : 1;
  } finally {
    await local.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`conformance: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
