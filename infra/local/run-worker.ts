/**
 * `npm run worker`: the reference worker against the running local stack. It starts a few fake
 * tasks (executions it creates and runs), heartbeats, and honours stops: try stopping one of
 * the printed ids with curl. It makes its own stop-signal queue first (`local-worker-<worker id>`),
 * as a real worker does. `--environment ENV` runs a self-hosted environment's consumer of the
 * asset-command channel instead, on `local-env-<ENV>`. It also prints the task events the stack
 * emits (queues.events).
 *
 * `--agent AGENT` names the agent of the tasks it starts (a bulk stop's hold stops them at birth when it selects it).
 *
 * `--spend-tokens` runs one task that spends tokens instead, reporting its usage every 500 ms as
 * the platform does, under a task limit of `--max-tokens` (set as PUT .../limits sets it): the
 * token guard stops it, and the worker prints the stop it received and the stopped record.
 */
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { CONFORMANCE_ENV, haltedLine } from "../../conformance/contract.js";
import { createDynamoDbClient, createSqsClient } from "../../lib/aws/clients.js";
import { livenessIndexKeys } from "../../lib/executions/indexes.js";
import { setTaskLimits } from "../../lib/executions/limits-store.js";
import { formatTimestamp } from "../../lib/timestamp.js";
import { dynamoWorkerExecutionUpdates } from "../../lib/worker/execution-updates.js";
import {
  createReferenceWorker,
  fakeTask,
  type ReferenceWorker,
  type TaskBody,
} from "../../lib/worker/reference-worker.js";
import { dynamoTokenUsageReporter, spendTokensTask } from "../../lib/worker/spend-tokens.js";
import { DEMO_API_KEY, DEMO_ORGANIZATION } from "./demo-data.js";
import { localClientOptions } from "./emulators.js";
import { useLocalProcessDefaults } from "./functions.js";
import { ownerQueueSettings } from "./provision.js";
import { readStackFile } from "./stack-file.js";
import { printTaskEvents } from "./task-event-printer.js";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "worker-id": { type: "string", default: process.env[CONFORMANCE_ENV.workerId] },
      environment: { type: "string" },
      tasks: { type: "string", default: "3" },
      "step-ms": { type: "string", default: "1000" },
      steps: { type: "string", default: "600" },
      organization: { type: "string", default: DEMO_ORGANIZATION },
      agent: { type: "string", default: "agent-reference-worker" },
      "stack-file": { type: "string", default: process.env[CONFORMANCE_ENV.stackFile] },
      "tasks-from-stdin": { type: "boolean", default: false },
      "spend-tokens": { type: "boolean", default: false },
      "max-tokens": { type: "string", default: "1000" },
      "tokens-per-report": { type: "string", default: "150" },
      "report-ms": { type: "string", default: "500" },
    },
  });
  const spendTokens = values["spend-tokens"];
  const stack = await readStackFile(values["stack-file"]).catch(() => {
    throw new Error("no local stack found (.local/stack.json): run npm start first");
  });
  useLocalProcessDefaults();
  const clientOptions = { ...localClientOptions, region: stack.region };
  const dynamoDb = createDynamoDbClient({ ...clientOptions, endpoint: stack.dynamodb_endpoint });
  // A long poll holds its request open up to 20 s: the SQS client must wait longer than that.
  const sqs = createSqsClient({ ...clientOptions, requestTimeoutMs: 30_000, endpoint: stack.sqs_endpoint });
  const workerId = values["worker-id"] ?? `worker-local-${process.pid}`;
  const environmentId = values.environment;
  const log = (event: string, fields: Record<string, unknown>) =>
    console.log(`${new Date().toISOString()} ${event} ${JSON.stringify(fields)}`);

  const worker = createReferenceWorker({
    workerId,
    sqs,
    signalQueue: ownerQueueSettings(environmentId ? stack.signal_channels.environments : stack.signal_channels.workers),
    environmentId,
    updates: dynamoWorkerExecutionUpdates(dynamoDb, stack.tables.executions),
    heartbeatIntervalMs: 2_000,
    log,
  });

  // The queue first, then the tasks: a stop must never find this worker's queue missing.
  const queueUrl = await worker.openQueue();
  log("own stop-signal queue ready", { queue_url: queueUrl });
  if (values["tasks-from-stdin"]) {
    runTasksFromStdin(worker, fakeTask(Number(values.steps), Number(values["step-ms"])), log);
    for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(0));
    log("listening for stops", { worker_id: workerId });
    await worker.startPolling();
    return;
  }

  const taskCount = spendTokens ? 1 : Number(values.tasks);
  for (let index = 0; index < taskCount; index += 1) {
    const now = formatTimestamp(new Date());
    const execution = {
      id: randomUUID(),
      agent_id: values.agent,
      organization_id: values.organization,
      input: { text: `fake task ${index + 1}`, files: [] },
      status: "executing",
      created_at: now,
      started_at: now,
      worker_id: workerId,
      source: "api",
      ...(environmentId ? { environment_id: environmentId } : {}),
    };
    await dynamoDb.send(
      new PutItemCommand({
        TableName: stack.tables.executions,
        Item: marshall({ ...execution, ...livenessIndexKeys(execution) }),
      }),
    );
    log("task started", { task_id: execution.id });
    let body: TaskBody = fakeTask(Number(values.steps), Number(values["step-ms"]));
    if (spendTokens) {
      const limits = { max_tokens: Number(values["max-tokens"]) };
      await setTaskLimits(dynamoDb, stack.tables.executions, {
        taskId: execution.id,
        organizationId: values.organization,
        limits,
      });
      log("task limit set", { task_id: execution.id, limits });
      body = spendTokensTask(dynamoTokenUsageReporter(dynamoDb, stack.tables.executions, execution.id), {
        tokensPerReport: Number(values["tokens-per-report"]),
        intervalMs: Number(values["report-ms"]),
        maxReports: 1_000,
        onReported: (total) => log("tokens reported", { task_id: execution.id, tokens: total }),
      });
    }
    worker.run(execution.id, body).then(async (end) => {
      log("task ended", { task_id: execution.id, end });
      if (!spendTokens) return;
      const { Item } = await dynamoDb.send(
        new GetItemCommand({
          TableName: stack.tables.executions,
          Key: { id: { S: execution.id } },
          ConsistentRead: true,
        }),
      );
      const record = Item ? unmarshall(Item) : {};
      log("stopped record", {
        task_id: execution.id,
        status: record.status,
        stop_reason: record.stop_reason,
        stopped_by: record.stopped_by,
        is_manually_stopped: record.is_manually_stopped,
        limit: record.stop_limit ?? null,
      });
      // A moment for the worker's acknowledgement of the stop to land, then out.
      setTimeout(() => process.kill(process.pid, "SIGTERM"), 500);
    });
    if (index === 0 && values.organization === DEMO_ORGANIZATION && !spendTokens) {
      console.log(
        `\n  stop it:  curl -s -X POST ${stack.api_url}/v1/tasks/${execution.id}/stop -H 'x-api-key: ${DEMO_API_KEY}'\n`,
      );
    }
  }

  // Every task event the local stack emits (Task Stopped, ...), as a consumer of the bus sees them.
  const events = printTaskEvents(sqs, stack.queues.events, log);

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      worker.stopPolling();
      events.stop();
      process.exit(0);
    });
  }
  log("listening for stops", { worker_id: workerId, environment_id: environmentId ?? null });
  await worker.startPolling();
}

/** Runs each task id read on stdin (once), and says `halted <task id>` when a stop halts it. */
function runTasksFromStdin(
  worker: ReferenceWorker,
  body: TaskBody,
  log: (event: string, fields: Record<string, unknown>) => void,
): void {
  createInterface({ input: process.stdin }).on("line", (line) => {
    const taskId = line.trim();
    if (!taskId || worker.runningTasks().includes(taskId)) return;
    log("task taken", { task_id: taskId });
    worker.run(taskId, body).then(
      (end) => {
        log("task ended", { task_id: taskId, end });
        if (end === "stopped") console.log(haltedLine(taskId));
      },
      (error: unknown) => log("task failed", { task_id: taskId, error: String(error) }),
    );
  });
}

main().catch((error: unknown) => {
  console.error(`worker: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
