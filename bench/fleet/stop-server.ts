/**
 * The fleet bench's stop function over HTTP, in a process of its own: the real stop handler
 * (`composeStopTask`, as functions/stop-task/handler.ts wires
 * it), served by the local server `npm start` uses (API Gateway's REST proxy events), against
 * the emulators of a running local stack. `--design shared` swaps only the publisher for the old
 * shared-queue one (bench/fleet/shared-queue.ts), `--design sns` for a topic with a filter policy
 * per worker (bench/fleet/sns-filter.ts), so all designs take the same path otherwise.
 *
 * IPC: sends `{ port }` once listening; answers "calls" with `{ calls: { names, ms } }` (every AWS
 * call the handler's clients made since the last "reset", retries included, and how long each
 * command took by name) and "reset" with `{ reset: true }`.
 */
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { SNSClient } from "@aws-sdk/client-sns";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { composeStopTask } from "../../functions/stop-task/compose.js";
import { pointFunctionsAt, useLocalProcessDefaults } from "../../infra/local/functions.js";
import { createLocalApi, type ProxyHandler } from "../../infra/local/server.js";
import { readStackFile } from "../../infra/local/stack-file.js";
import { createDynamoDbClient, createSqsClient } from "../../lib/aws/clients.js";
import { awsClientOptions, readStopTaskConfig } from "../../lib/config.js";
import type { StopSignalPublisher } from "../../lib/signals/publisher.js";
import { countAwsCalls } from "../../test/support/aws-call-counter.js";
import { sharedQueuePublisher } from "./shared-queue.js";
import { snsFilterPublisher } from "./sns-filter.js";

const { values } = parseArgs({
  options: {
    "stack-file": { type: "string" },
    design: { type: "string" },
    "shared-queue-url": { type: "string" },
    "topic-arn": { type: "string" },
  },
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
// SNS speaks on the emulator's one endpoint too; configured as the SQS client is.
const sns = new SNSClient({
  region: stack.region,
  endpoint: stack.sqs_endpoint,
  maxAttempts: config.AWS_MAX_ATTEMPTS,
  requestHandler: {
    requestTimeout: config.AWS_REQUEST_TIMEOUT_MS,
    connectionTimeout: config.AWS_CONNECTION_TIMEOUT_MS,
  },
});
const counter = countAwsCalls(dynamoDb, sqs, sns as unknown as SQSClient);
// How long each AWS call took, as the handler waited for it: what the API's answer time is made of.
const callMs: Record<string, number[]> = {};
for (const client of [dynamoDb, sqs, sns] as unknown as SQSClient[]) {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const started = performance.now();
      try {
        return await next(args);
      } finally {
        const name = String(context.commandName).replace("Command", "");
        callMs[name] = [...(callMs[name] ?? []), performance.now() - started];
      }
    },
    { step: "initialize", name: "benchCallTimer" },
  );
}

const sharedQueueUrl = values["shared-queue-url"];
const topicArn = values["topic-arn"];
/**
 * The design's publisher in place of the service's own; none for the service's design (a queue per
 * worker), which Python workers of the kit use too.
 */
function publisherOf(design: string | undefined): { publishStopSignal?: StopSignalPublisher } {
  if (design === "shared" && sharedQueueUrl) return { publishStopSignal: sharedQueuePublisher(sqs, sharedQueueUrl) };
  if (design === "sns" && topicArn) return { publishStopSignal: snsFilterPublisher(sns, topicArn) };
  if (design === "per-worker" || design === "python") return {};
  throw new Error(`unknown design ${design}, or its queue or topic missing`);
}
const handler = composeStopTask(config, { dynamoDb, sqs }, publisherOf(values.design)) as ProxyHandler;

// No throttling: the bench sets the request rate itself.
const server = createLocalApi({
  handlers: { "stop-task": handler, "get-task": handler },
  throttling: { rateLimit: 1_000_000, burstLimit: 1_000_000 },
  onError: (error) => console.error("fleet stop server: handler failed:", error),
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => process.send?.({ port: (server.address() as AddressInfo).port }));

process.on("message", (message) => {
  if (message === "calls") process.send?.({ calls: { names: [...counter.calls], ms: callMs } });
  if (message === "reset") {
    counter.reset();
    for (const name of Object.keys(callMs)) delete callMs[name];
    process.send?.({ reset: true });
  }
});
process.on("disconnect", () => process.exit(0));
