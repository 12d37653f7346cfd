/**
 * `npm run cleanup`: one cleanup run, then one sweep of idle signal queues, against the running local stack
 * (.local/stack.json).
 */
import { parseArgs } from "node:util";
import { loadFunctionHandler, pointFunctionsAt, useLocalProcessDefaults } from "./functions.js";
import { createLocalCleanup, type InvokableHandler, inProcessStopInvoker } from "./local-cleanup.js";
import { readStackFile } from "./stack-file.js";

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { "stack-file": { type: "string" } } });
  const stack = await readStackFile(values["stack-file"]).catch(() => {
    throw new Error("no local stack found (.local/stack.json): run npm start first");
  });
  useLocalProcessDefaults();
  pointFunctionsAt(stack);
  const stopHandler = await loadFunctionHandler<InvokableHandler>("stop-task");
  const cleanup = createLocalCleanup(stack, inProcessStopInvoker(stopHandler));
  const report = await cleanup.run();
  console.log(JSON.stringify({ ...report, sweep: await cleanup.sweep() }));
}

main().catch((error: unknown) => {
  console.error(`cleanup: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
