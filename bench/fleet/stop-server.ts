/**
 * The fleet bench's stop function over HTTP, in a process of its own: the real stop handler
 * (`createStopTaskHandler` with `stopTaskDependencies`, as functions/stop-task/handler.ts wires
 * it), served by the local server `npm start` uses (API Gateway's REST proxy events), against
 * the emulators of a running local stack. `--design shared` swaps only the publisher for the old
 * shared-queue one (bench/fleet/shared-queue.ts), so both designs take the same path otherwise.
 *
 * IPC: sends `{ port }` once listening; answers "calls" with `{ calls }` (every AWS call the
 * handler's clients made since the last "reset", retries included) and "reset" with `{ reset: true }`.
 */
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { createStopTaskHandler, stopTaskDependencies } from "../../functions/stop-task/app.js";
import { pointFunctionsAt, useLocalProcessDefaults } from "../../infra/local/functions.js";
import { createLocalApi, type ProxyHandler } from "../../infra/local/server.js";
import { readStackFile } from "../../infra/local/stack-file.js";
import { awsClientOptions, readStopTaskConfig } from "../../lib/config.js";
import { createDynamoDbClient, createSqsClient } from "../../lib/aws/clients.js";
import { countAwsCalls } from "../../test/support/aws-call-counter.js";
import { sharedQueuePublisher } from "./shared-queue.js";

const { values } = parseArgs({
  options: { "stack-file": { type: "string" }, design: { type: "string" }, "shared-queue-url": { type: "string" } },
});
if (!process.send) throw new Error("bench/fleet/stop-server.ts runs as a child of the fleet bench (IPC)");

useLocalProcessDefaults();
// The handler's logs and metrics belong to no table here.
process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
process.env.POWERTOOLS_METRICS_DISABLED = "true";
const stack = await readStackFile(values["stack-file"]);
pointFunctionsAt(stack);
const config = readStopTaskConfig();
const clientOptions = { ...awsClientOptions(config), region: stack.region };
const dynamoDb = createDynamoDbClient({ ...clientOptions, endpoint: stack.dynamodb_endpoint });
const sqs = createSqsClient({ ...clientOptions, endpoint: stack.sqs_endpoint });
const counter = countAwsCalls(dynamoDb, sqs);

const deps = stopTaskDependencies(config, { dynamoDb, sqs });
const sharedQueueUrl = values["shared-queue-url"];
if (values.design === "shared" && !sharedQueueUrl) throw new Error("--design shared needs --shared-queue-url");
const handler = createStopTaskHandler(
  values.design === "shared" && sharedQueueUrl ? { ...deps, publishStopSignal: sharedQueuePublisher(sqs, sharedQueueUrl) } : deps,
) as ProxyHandler;

// No throttling: the bench sets the request rate itself.
const server = createLocalApi({
  handlers: { "stop-task": handler, "get-task": handler },
  throttling: { rateLimit: 1_000_000, burstLimit: 1_000_000 },
  onError: (error) => console.error("fleet stop server: handler failed:", error),
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => process.send?.({ port: (server.address() as AddressInfo).port }));

process.on("message", (message) => {
  if (message === "calls") process.send?.({ calls: [...counter.calls] });
  if (message === "reset") {
    counter.reset();
    process.send?.({ reset: true });
  }
});
process.on("disconnect", () => process.exit(0));
