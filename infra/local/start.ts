/**
 * `npm start`: the whole service on one machine. DynamoDB Local and fauxqs on loopback ports,
 * the tables and queues of lib/resources.ts, the real Lambda handlers behind an API Gateway-
 * shaped HTTP server, demo data (or `--seed FILE`), and `.local/stack.json` for other tools.
 */
import { rmSync } from "node:fs";
import { parseArgs } from "node:util";
import { createDynamoDbClient, createSqsClient } from "../../lib/aws/clients.js";
import { buildOpenApiDocument } from "../../lib/http/openapi.js";
import { stageSettings } from "../stages.js";
import { DEMO_API_KEY, demoExecutions, demoSeed } from "./demo-data.js";
import {
  assertPortFree,
  LOCAL_REGION,
  LocalStackError,
  localClientOptions,
  type RunningEmulator,
  startDynamoDbLocal,
  startSqsEmulator,
} from "./emulators.js";
import { startLocalExecutionStream } from "./execution-stream.js";
import { loadFunctionHandler, loadRouteHandlers, pointFunctionsAt, useLocalProcessDefaults } from "./functions.js";
import { createLocalCleanup, type InvokableHandler, inProcessStopInvoker } from "./local-cleanup.js";
import { provisionLocalResources } from "./provision.js";
import { type QueueHandler, startQueueConsumer } from "./queue-consumer.js";
import { loadSeed, readSeedFile, type SeedFile, SeedFileError, seedFileSchema } from "./seed.js";
import { createLocalApi } from "./server.js";
import { DEFAULT_STACK_FILE, type StackFile, writeStackFile } from "./stack-file.js";
import type { StreamHandler } from "./stream-poller.js";
import { parseThrottleOption, type Throttling } from "./throttle.js";

const RESOURCE_PREFIX = "local";

const { values: options } = parseArgs({
  options: {
    seed: { type: "string" },
    persist: { type: "string" },
    port: { type: "string" },
    "dynamodb-port": { type: "string" },
    "sqs-port": { type: "string" },
    "stack-file": { type: "string" },
    throttle: { type: "string" },
  },
  strict: true,
});

function portOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === "") return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new LocalStackError(`${name} must be a port number, got ${value}`);
  return port;
}

/**
 * Everything started here, stopped in reverse order on the way out (the stream poller before the emulators it reads).
 */
const running: Pick<RunningEmulator, "stop">[] = [];
let stopping = false;

async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    for (const started of [...running].reverse()) await Promise.allSettled([started.stop()]);
  }
  process.exit(code);
}

function fail(error: unknown): Promise<never> {
  const message =
    error instanceof LocalStackError || error instanceof SeedFileError
      ? error.message
      : error instanceof Error
        ? (error.stack ?? error.message)
        : String(error);
  console.error(`npm start: ${message}`);
  return shutdown(1);
}

function listen(server: ReturnType<typeof createLocalApi>, port: number): Promise<number> {
  return new Promise((resolvePort, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "EADDRINUSE"
          ? new LocalStackError(
              `port ${port} is already in use: stop whatever holds it, or run PORT=<free port> npm start`,
            )
          : error,
      ),
    );
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      resolvePort(typeof address === "object" && address ? address.port : port);
    });
  });
}

async function main(): Promise<void> {
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void shutdown(0));

  const apiPort = portOption(options.port ?? process.env.PORT ?? "3000", "PORT");
  const stackFile = options["stack-file"] ?? DEFAULT_STACK_FILE;
  const throttling: Throttling =
    options.throttle === undefined ? stageSettings.local.throttling : parseThrottleOption(options.throttle);
  // Validate fixtures before starting anything, so a bad file fails in milliseconds.
  const seed: SeedFile = options.seed ? await readSeedFile(options.seed) : seedFileSchema.parse(demoSeed());
  if (apiPort) await assertPortFree(apiPort, "the API (PORT)");

  const [dynamoDb, sqs] = await Promise.all([
    startDynamoDbLocal({
      port: portOption(options["dynamodb-port"], "--dynamodb-port"),
      persistDirectory: options.persist,
    }).then((emulator) => {
      running.push(emulator);
      return emulator;
    }),
    startSqsEmulator({ port: portOption(options["sqs-port"], "--sqs-port") }).then((emulator) => {
      running.push(emulator);
      return emulator;
    }),
  ]);

  useLocalProcessDefaults();

  const dynamoDbClient = createDynamoDbClient({ ...localClientOptions, endpoint: dynamoDb.endpoint });
  const sqsClient = createSqsClient({ ...localClientOptions, endpoint: sqs.endpoint });
  const resources = await provisionLocalResources({ dynamoDb: dynamoDbClient, sqs: sqsClient }, RESOURCE_PREFIX);
  await loadSeed(seed, {
    dynamoDb: dynamoDbClient,
    executionsTable: resources.tables.executions,
    apiKeysTable: resources.tables.api_keys,
    keepExisting: Boolean(options.persist),
  });

  pointFunctionsAt({ ...resources, dynamodb_endpoint: dynamoDb.endpoint, sqs_endpoint: sqs.endpoint });
  // The executions table's stream processor, as Lambda runs it in AWS: the cascade, and the task
  // events onto queues.events. A persisted table's stream still holds what an earlier run handled.
  running.push(
    await startLocalExecutionStream(
      {
        region: process.env.AWS_REGION ?? LOCAL_REGION,
        dynamodbEndpoint: dynamoDb.endpoint,
        sqsEndpoint: sqs.endpoint,
        executionsTable: resources.tables.executions,
        failureQueueUrl: resources.queues.execution_stream_failures,
      },
      await loadFunctionHandler<StreamHandler>("execution-stream"),
      {
        startingPosition: options.persist ? "LATEST" : "TRIM_HORIZON",
        onError: (error) =>
          console.error(`execution stream: ${error instanceof Error ? error.message : String(error)}`),
      },
    ),
  );
  // The bulk stops' runs, from their queue, as Lambda's SQS event source runs them in AWS.
  running.push(
    startQueueConsumer({
      sqs: sqsClient,
      queueUrl: resources.queues.bulk_stop_jobs,
      functionName: "bulk-stop",
      handler: await loadFunctionHandler<QueueHandler>("bulk-stop"),
      region: process.env.AWS_REGION ?? LOCAL_REGION,
      onError: (error) => console.error(`bulk stop jobs: ${error instanceof Error ? error.message : String(error)}`),
    }),
  );
  const handlers = await loadRouteHandlers();
  let apiUrl = "";
  const server = createLocalApi({
    handlers,
    throttling,
    staticRoutes: {
      "/openapi.json": () => ({
        statusCode: 200,
        headers: { "content-type": "application/json" },
        body: JSON.stringify(buildOpenApiDocument(apiUrl)),
      }),
    },
    onError: (error) => console.error("handler failed:", error),
  });
  const port = await listen(server, apiPort ?? 3000);
  apiUrl = `http://127.0.0.1:${port}`;

  const stack: StackFile = {
    api_url: apiUrl,
    region: process.env.AWS_REGION ?? LOCAL_REGION,
    dynamodb_endpoint: dynamoDb.endpoint,
    sqs_endpoint: sqs.endpoint,
    tables: resources.tables,
    signal_channels: resources.signal_channels,
    queues: resources.queues,
  };
  await writeStackFile(stackFile, stack);
  process.on("exit", () => rmSync(stackFile, { force: true }));
  scheduleCleanup(stack, await loadFunctionHandler<InvokableHandler>("stop-task"));

  printBanner(stack, stackFile, Boolean(options.seed), seed, throttling);
}

/**
 * The cloud runs the cleanup every minute on a schedule (and the queue sweep every hour); locally it runs on a timer.
 */
function scheduleCleanup(stack: StackFile, stopHandler: InvokableHandler): void {
  const intervalSeconds = Number(process.env.CLEANUP_INTERVAL_SECONDS ?? "60");
  if (!Number.isFinite(intervalSeconds) || intervalSeconds <= 0) return;
  const cleanup = createLocalCleanup(stack, inProcessStopInvoker(stopHandler));
  let running = false;
  let runs = 0;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    runs += 1;
    const sweep = runs % 60 === 0 ? cleanup.sweep() : Promise.resolve({ deleted: 0 });
    Promise.all([cleanup.run(), sweep])
      .then(([report, swept]) => {
        const worked =
          report.redriven +
          report.ownerQueueGone +
          report.closedUnassigned +
          report.flagged +
          report.stoppedStale +
          report.stoppedOverlong +
          report.stoppedOverDurationLimit +
          report.failures;
        if (worked > 0) console.log(`cleanup: ${JSON.stringify(report)}`);
        if (swept.deleted > 0) console.log(`cleanup: deleted ${swept.deleted} idle signal queue(s)`);
      })
      .catch((error: unknown) =>
        console.error(`cleanup failed: ${error instanceof Error ? error.message : String(error)}`),
      )
      .finally(() => {
        running = false;
      });
  }, intervalSeconds * 1000);
  timer.unref();
}

/**
 * One curl that lists what is on queues.events (fauxqs takes SQS's JSON protocol unsigned); visibility 0 leaves the
 * events there.
 */
function peekEventsCommand(stack: StackFile): string {
  const body = JSON.stringify({ QueueUrl: stack.queues.events, MaxNumberOfMessages: 10, VisibilityTimeout: 0 });
  return (
    `curl -s ${stack.sqs_endpoint} -H 'x-amz-target: AmazonSQS.ReceiveMessage' ` +
    `-H 'content-type: application/x-amz-json-1.0' -d '${body}'`
  );
}

function printBanner(
  stack: StackFile,
  stackFile: string,
  seeded: boolean,
  seed: SeedFile,
  throttling: Throttling,
): void {
  const lines = [
    "",
    `stop-task is running at ${stack.api_url}`,
    `  DynamoDB Local ${stack.dynamodb_endpoint}   SQS (fauxqs) ${stack.sqs_endpoint}`,
    `  stack details in ${stackFile}`,
    `  throttled at ${throttling.rateLimit} requests/s, bursts of ${throttling.burstLimit} (429 beyond; --throttle RATE,BURST to change)`,
    "",
  ];
  if (seeded) {
    lines.push(
      `  seeded ${seed.api_keys.length} API key(s) and ${seed.executions.length} execution(s) from ${options.seed}`,
    );
  } else {
    lines.push(
      `  demo API key (org-demo): ${DEMO_API_KEY}`,
      "  demo executions:",
      ...seed.executions.map((execution: Record<string, unknown>) => {
        const selfHosted = execution.environment_id ? `  (self-hosted: ${String(execution.environment_id)})` : "";
        return `    ${String(execution.id)}  ${String(execution.status).padEnd(10)} ${String(execution.organization_id)}${selfHosted}`;
      }),
      "",
      "  stop the executing one, then confirm:",
      `    curl -s -X POST ${stack.api_url}/v1/tasks/${demoExecutions.executing}/stop -H 'x-api-key: ${DEMO_API_KEY}'`,
      `    curl -s ${stack.api_url}/v1/tasks/${demoExecutions.executing} -H 'x-api-key: ${DEMO_API_KEY}'`,
      "  stop the orchestrator with a reason: its running sub-executions stop too, one Task Stopped event each on queues.events:",
      `    curl -s -X POST ${stack.api_url}/v1/tasks/${demoExecutions.orchestrator}/stop ` +
        `-H 'x-api-key: ${DEMO_API_KEY}' -d '{"reason": "Wrong brief"}'`,
      `    curl -s ${stack.api_url}/v1/tasks/${demoExecutions.orchestratorGrandchild} -H 'x-api-key: ${DEMO_API_KEY}'`,
      `    ${peekEventsCommand(stack)}`,
      `  API description: ${stack.api_url}/openapi.json`,
    );
  }
  lines.push("", "Ctrl-C stops everything.", "");
  console.log(lines.join("\n"));
}

main().catch(fail);
