/**
 * `npm run load`: held load on the local stack. Seeds 1,000 executions of several
 * organizations, starts `npm start` on a free port (the periodic cleanup off, so only the
 * load's own stops write), sends at least 10,000 stop requests at concurrency 64 with
 * autocannon, then drains every worker's and environment's queue and reads every execution back. Prints a table, writes
 * `.local/load-report.json`, and exits non-zero on any error or failed check.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import autocannon from "autocannon";
import { useLocalProcessDefaults } from "../infra/local/functions.js";
import { ownerQueueSettings } from "../infra/local/provision.js";
import { loadSeed, type SeedFileInput, seedFileSchema } from "../infra/local/seed.js";
import type { StackFile } from "../infra/local/stack-file.js";
import { createDynamoDbClient, createSqsClient } from "../lib/aws/clients.js";
import { ensureSignalQueue } from "../lib/worker/signal-queue.js";
import { startLocalStackForLoad } from "./local-stack.js";
import { buildScenario, type PlannedRequest } from "./scenario.js";
import { createLoadTally, type LoadTally } from "./tally.js";
import { ownerQueuesOf, type VerificationResult, verifyAfterLoad } from "./verify.js";

const MIN_REQUESTS = 10_000;
const MIN_EXECUTIONS = 1_000;

const { values: options } = parseArgs({
  options: {
    requests: { type: "string", default: "12800" },
    connections: { type: "string", default: "64" },
    executions: { type: "string", default: "1000" },
    "random-seed": { type: "string", default: "20240607" },
    report: { type: "string", default: ".local/load-report.json" },
    // The cloud's 700 ms per-attempt budget is sized for DynamoDB's milliseconds; the local stack
    // gives the emulators 5 s (infra/local/functions.ts), and so does the load run by default.
    // `--aws-request-timeout-ms 700` runs it with the cloud's budget.
    "aws-request-timeout-ms": { type: "string", default: "5000" },
  },
  strict: true,
});

function positiveInteger(value: string, name: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) throw new Error(`--${name} must be a positive integer, got ${value}`);
  return number;
}

interface LoadContext {
  plan?: PlannedRequest;
}

async function main(): Promise<number> {
  const requestCount = positiveInteger(options.requests, "requests");
  const connections = positiveInteger(options.connections, "connections");
  const executionCount = positiveInteger(options.executions, "executions");
  const randomSeed = positiveInteger(options["random-seed"], "random-seed");
  const awsRequestTimeoutMs = positiveInteger(options["aws-request-timeout-ms"], "aws-request-timeout-ms");
  // Smaller runs are for trying the script out; only the full size is a held-load figure.
  const fullSize = requestCount >= MIN_REQUESTS && executionCount >= MIN_EXECUTIONS && connections >= 64;

  useLocalProcessDefaults();
  const scenario = buildScenario({ executionCount, randomSeed });
  const workDirectory = mkdtempSync(join(tmpdir(), "stop-task-load-"));
  // `npm start --seed` writes every fixture at once, which a busy small machine's DynamoDB Local
  // refuses connections for at this size: the stack seeds the keys, this script the executions
  // (the same loader, in slices).
  const seedFile = join(workDirectory, "seed.json");
  await writeFile(seedFile, JSON.stringify({ api_keys: scenario.seed.api_keys, executions: [] }));

  console.log(`load: starting the local stack with ${executionCount} executions…`);
  const local = await startLocalStackForLoad({
    seedFile,
    stackFile: join(workDirectory, "stack.json"),
    // Only the load's own stops may write: no periodic cleanup, and no re-send during the run.
    env: { CLEANUP_INTERVAL_SECONDS: "0", AWS_REQUEST_TIMEOUT_MS: String(awsRequestTimeoutMs) },
  });
  const stopOnSignal = () => void local.stop().finally(() => process.exit(130));
  process.once("SIGINT", stopOnSignal);
  process.once("SIGTERM", stopOnSignal);

  const loadAverageBefore = loadavg();
  let tally: LoadTally | undefined;
  let result: autocannon.Result | undefined;
  let verification: VerificationResult | undefined;
  try {
    const clientOptions = {
      region: local.stack.region,
      requestTimeoutMs: 10_000,
      connectionTimeoutMs: 5_000,
      maxAttempts: 3,
    };
    const dynamoDb = createDynamoDbClient({ ...clientOptions, endpoint: local.stack.dynamodb_endpoint });
    const sqs = createSqsClient({ ...clientOptions, endpoint: local.stack.sqs_endpoint });
    await seedExecutions(scenario.seed, dynamoDb, local.stack);
    // Every worker and environment the seed names makes its queue, as it would at start.
    const owners = ownerQueuesOf(scenario.executions);
    await Promise.all([
      ...owners.workers.map((id) =>
        ensureSignalQueue(sqs, ownerQueueSettings(local.stack.signal_channels.workers), id),
      ),
      ...owners.environments.map((id) =>
        ensureSignalQueue(sqs, ownerQueueSettings(local.stack.signal_channels.environments), id),
      ),
    ]);

    tally = createLoadTally();
    const recorder = tally;
    console.log(`load: ${requestCount} stop requests at concurrency ${connections} against ${local.stack.api_url}…`);
    result = await autocannon({
      url: local.stack.api_url,
      connections,
      amount: requestCount,
      // Longer than the handler's worst case (three attempts of the AWS request timeout), so a slow answer is measured,
      // not cut.
      timeout: Math.ceil((awsRequestTimeoutMs * 4) / 1000) + 5,
      requests: [
        {
          setupRequest: (request, context) => {
            const plan = scenario.nextRequest();
            (context as LoadContext).plan = plan;
            return { ...request, method: plan.method, path: plan.path, headers: plan.headers };
          },
          onResponse: (status, body, context) => {
            const plan = (context as LoadContext).plan;
            if (plan) recorder.record(plan, status, body);
          },
        },
      ],
    });

    verification = await verifyAfterLoad({
      stack: local.stack,
      dynamoDb,
      sqs,
      seed: scenario.seed,
      executions: scenario.executions,
      stopRequestedBySameOrganization: tally.stopRequestedBySameOrganization,
    });
  } finally {
    await local.stop();
    rmSync(workDirectory, { recursive: true, force: true });
  }

  const loadAverageAfter = loadavg();
  const handlerFailures = local
    .output()
    .split("\n")
    .filter((line) => line.startsWith("handler failed:")).length;
  const summary = tally.summary();
  const connectionErrors = result.errors;
  const errors = summary.undocumented + summary.serverErrors + connectionErrors + handlerFailures;
  const passed =
    errors === 0 && summary.unexpected === 0 && verification.failureCount === 0 && summary.answered === requestCount;

  const report = {
    date: new Date().toISOString(),
    environment: {
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus: cpus().length,
      stack: "npm start: DynamoDB Local + fauxqs, real handlers",
      // Other work on the machine slows the emulators; the 1-minute load average says how busy it was.
      loadAverage1m: { before: loadAverageBefore[0], after: loadAverageAfter[0] },
    },
    parameters: {
      requests: requestCount,
      connections,
      executions: executionCount,
      randomSeed,
      awsRequestTimeoutMs,
      fullSize,
    },
    results: {
      answered: summary.answered,
      durationSeconds: result.duration,
      requestsPerSecond: Math.round((summary.answered / result.duration) * 10) / 10,
      latencyMs: {
        p50: result.latency.p50,
        p90: result.latency.p90,
        p99: result.latency.p99,
        max: result.latency.max,
        mean: result.latency.average,
      },
      statusCodes: summary.statusCodes,
      requestMix: summary.mix,
      errors: {
        total: errors,
        undocumentedStatus: summary.undocumented,
        serverErrors: summary.serverErrors,
        connection: connectionErrors,
        timeouts: result.timeouts,
        handlerFailures,
      },
      unexpectedForRequest: { count: summary.unexpected, examples: summary.unexpectedExamples },
    },
    verification,
    passed,
  };
  await mkdir(dirname(options.report), { recursive: true });
  await writeFile(options.report, `${JSON.stringify(report, null, 2)}\n`);

  printTable([
    [
      "requests answered",
      `${summary.answered} of ${requestCount} (${connections} connections, ${executionCount} executions)`,
    ],
    ["handler AWS timeout", `${awsRequestTimeoutMs} ms per attempt`],
    [
      "load average (1 min)",
      `${loadAverageBefore[0]?.toFixed(1)} before, ${loadAverageAfter[0]?.toFixed(1)} after, ${cpus().length} CPUs`,
    ],
    ["duration", `${result.duration.toFixed(1)} s`],
    ["throughput", `${report.results.requestsPerSecond} req/s`],
    ["latency p50 / p99 / max", `${result.latency.p50} / ${result.latency.p99} / ${result.latency.max} ms`],
    [
      "status codes",
      Object.entries(summary.statusCodes)
        .map(([status, count]) => `${status}: ${count}`)
        .join(", "),
    ],
    [
      "errors",
      `${errors} (undocumented ${summary.undocumented}, 5xx ${summary.serverErrors}, ` +
        `connection ${connectionErrors}, handler ${handlerFailures})`,
    ],
    ["wrong status for request", String(summary.unexpected)],
    [
      "executions stopped",
      `${verification.stopped} of ${verification.expectedStopped} expected, ` +
        `each written once, with exactly one message to whoever runs it ` +
        `(none for the ${verification.stoppedUnassigned} no worker ran yet)`,
    ],
    [
      "messages",
      `${verification.messages.workerQueues} on workers' queues, ${verification.messages.environmentQueues} ` +
        `on environments' (${verification.messages.queuesRead} queues read)`,
    ],
    ["executions untouched", `${verification.untouchedChecked} checked byte for byte`],
    ["verification", verification.failureCount === 0 ? "passed" : `FAILED (${verification.failureCount} problems)`],
    ["result", passed ? (fullSize ? "PASS" : "PASS (reduced size: not a held-load figure)") : "FAIL"],
  ]);
  for (const example of summary.unexpectedExamples) console.log(`  unexpected: ${example}`);
  for (const failure of verification.failures) console.log(`  check failed: ${failure}`);
  if (handlerFailures > 0) console.log(local.output());
  console.log(`report written to ${options.report}`);
  return passed ? 0 : 1;
}

const SEED_SLICE = 50;

async function seedExecutions(seed: SeedFileInput, dynamoDb: DynamoDBClient, stack: StackFile): Promise<void> {
  const { executions } = seedFileSchema.parse(seed);
  for (let start = 0; start < executions.length; start += SEED_SLICE) {
    await loadSeed(
      { api_keys: [], executions: executions.slice(start, start + SEED_SLICE) },
      { dynamoDb, executionsTable: stack.tables.executions, apiKeysTable: stack.tables.api_keys },
    );
  }
}

function printTable(rows: readonly (readonly [string, string])[]): void {
  const width = Math.max(...rows.map(([label]) => label.length));
  console.log("");
  for (const [label, value] of rows) console.log(`  ${label.padEnd(width)}  ${value}`);
  console.log("");
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`load: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
