import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateEventBusCommand, EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { CreateQueueCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import type { APIGatewayProxyResult } from "aws-lambda";
import { inject } from "vitest";
import { composeCleanup } from "../../../functions/cleanup/compose.js";
import { composeGetTask } from "../../../functions/get-task/compose.js";
import { toApiGatewayProxyEvent } from "../../../infra/local/api-gateway-event.js";
import { localClientOptions } from "../../../infra/local/emulators.js";
import { localLambdaContext } from "../../../infra/local/lambda-context.js";
import { ownerQueueSettings } from "../../../infra/local/provision.js";
import { issueApiKey, revokeApiKey } from "../../../lib/auth/api-key-admin.js";
import { commonOptions } from "../../../lib/aws/clients.js";
import { lambdaStopInvoker } from "../../../lib/aws/stop-invoker.js";
import { createBulkStop } from "../../../lib/bulk-stop/create.js";
import { dynamoScopedTaskReader } from "../../../lib/bulk-stop/scoped-tasks.js";
import { dynamoBulkStopStore } from "../../../lib/bulk-stop/store.js";
import { readCleanupConfig, readGetTaskConfig } from "../../../lib/config.js";
import { eventBridgeTaskEventPublisher } from "../../../lib/events/publishers.js";
import { livenessIndexKeys } from "../../../lib/executions/indexes.js";
import { getOrganizationLimits, putOrganizationLimits } from "../../../lib/executions/limits-store.js";
import { physicalName } from "../../../lib/resources.js";
import { signalQueueName } from "../../../lib/signals/queue-names.js";
import { SWEEP_SIGNAL_QUEUES_JOB } from "../../../lib/signals/queue-sweep.js";
import { dynamoWorkerExecutionUpdates } from "../../../lib/worker/execution-updates.js";
import { createReferenceWorker } from "../../../lib/worker/reference-worker.js";
import { ensureSignalQueue } from "../../../lib/worker/signal-queue.js";
import { dynamoTokenUsageReporter } from "../../../lib/worker/spend-tokens.js";
import { type AwsCallCounter, countAwsCalls, type RecordedRequest } from "../../support/aws-call-counter.js";
import { startLambdaInvokeEndpoint, startMotoServer } from "../../support/aws-stand-ins.js";
import { aBulkStopLookup, aBulkStopRequest, bulkStopHarness, readView } from "../../support/bulk-stop-harness.js";
import { startExecutionStream } from "../../support/execution-stream-harness.js";
import { anExecution, aStopRequest } from "../../support/factories.js";
import {
  getStoredItem,
  type LocalAws,
  localDynamoDbClient,
  localSqsClient,
  provisionIsolatedStack,
  putItem,
  storeApiKey,
} from "../../support/local-aws.js";
import { stopTaskHarness } from "../../support/stop-task-harness.js";

/**
 * Every component's flows, run for real on the emulators with recording clients: the functions
 * wired by their own compose*, the reference worker, the Python kit, the operator commands' code.
 * Each component's calls are what its deployed identity must be allowed (deployed-permissions.test.ts).
 */

/** Who sends a call once deployed: a function's role, an owner's (worker or environment) tagged role, or an operator. */
export type Caller =
  | {
      readonly kind: "function";
      readonly name: "stop-task" | "get-task" | "cleanup" | "execution-stream" | "bulk-stop";
    }
  | { readonly kind: "worker" | "environment"; readonly ownerId: string }
  | { readonly kind: "operator"; readonly command: string };

export interface RecordedCall {
  readonly caller: Caller;
  readonly scenario: string;
  readonly request: RecordedRequest;
}

export interface RecordedRun {
  readonly calls: readonly RecordedCall[];
  /** The test stack's name prefix, which a deployed stage's `stop-task-<stage>` replaces. */
  readonly localPrefix: string;
}

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const API_KEY = `sk-iam-${Date.now()}`;
const ORGANIZATION = "org-iam";

/** Runs `body` and files the calls it made through `counter` under `caller` and `scenario`. */
function recorder(calls: RecordedCall[]) {
  return async (caller: Caller, scenario: string, counter: AwsCallCounter, body: () => Promise<unknown>) => {
    const before = counter.requests.length;
    await body();
    for (const request of counter.requests.slice(before)) calls.push({ caller, scenario, request });
  };
}

function limitsRequest(taskId: string, body: unknown) {
  return toApiGatewayProxyEvent({
    method: "PUT",
    path: `/v1/tasks/${encodeURIComponent(taskId)}/limits`,
    resource: "/v1/tasks/{task_id}/limits",
    pathParameters: { task_id: taskId },
    rawHeaders: [
      ["x-api-key", API_KEY],
      ["content-type", "application/json"],
    ],
    body: JSON.stringify(body),
    stage: "test",
  });
}

async function expectStatus(response: Promise<unknown>, status: number, what: string): Promise<void> {
  const { statusCode, body } = (await response) as APIGatewayProxyResult;
  if (statusCode !== status) throw new Error(`${what}: ${statusCode} ${body}`);
}

async function aRunningTask(aws: LocalAws, fields: Record<string, unknown> = {}): Promise<string> {
  const execution = anExecution({ organization_id: ORGANIZATION, ...fields });
  await putItem(aws.dynamoDb, aws.resources.tables.executions, { ...execution, ...livenessIndexKeys(execution) });
  return execution.id as string;
}

/** An owner's queue as a version with other attributes made it (the library's CreateQueue then finds it different). */
async function aQueueOfAnOlderVersion(aws: LocalAws, queueName: string): Promise<void> {
  await aws.sqs.send(new CreateQueueCommand({ QueueName: queueName, Attributes: { VisibilityTimeout: "45" } }));
}

/** Every flow, in an isolated stack; the calls in the order they were sent. */
export async function recordEveryComponent(): Promise<RecordedRun> {
  const calls: RecordedCall[] = [];
  const record = recorder(calls);
  const aws = await provisionIsolatedStack({ workers: [] });
  const localPrefix = aws.resources.tables.executions.replace(/-executions$/, "");
  await storeApiKey(aws, { key: API_KEY, organizationId: ORGANIZATION, keyId: "key-iam" });
  const region = "us-east-1";
  const credentials = { accessKeyId: "local", secretAccessKey: "local" };

  const stop = stopTaskHarness(aws);
  const stopFunctionName = physicalName(localPrefix, "stop-task");
  const lambdaEndpoint = await startLambdaInvokeEndpoint({
    [stopFunctionName]: (event) => stop.invoke(event as never),
  });
  const moto = await startMotoServer();
  const busName = physicalName(localPrefix, "task-events");
  try {
    // --- The reference worker (lib/worker) and a self-hosted environment's consumer -------------------------------
    const workerId = "iam-worker";
    const environmentId = "iam-env";
    const workerSqs = localSqsClient();
    const workerDynamoDb = localDynamoDbClient();
    const workerCounter = countAwsCalls(workerSqs, workerDynamoDb);
    const worker = createReferenceWorker({
      workerId,
      sqs: workerSqs,
      signalQueue: ownerQueueSettings(aws.resources.signal_channels.workers),
      updates: dynamoWorkerExecutionUpdates(workerDynamoDb, aws.resources.tables.executions),
      heartbeatIntervalMs: 20,
      pollWaitSeconds: 1,
    });
    const asWorker = { kind: "worker", ownerId: workerId } as const;
    // Its queue as an older version made it, with other attributes: opening it brings them to this version's.
    await aQueueOfAnOlderVersion(aws, signalQueueName(aws.resources.signal_channels.workers.name_prefix, workerId));
    await record(asWorker, "reference worker: opens its queue (made by an older version)", workerCounter, () =>
      worker.openQueue(),
    );
    const workerTask = await aRunningTask(aws, { worker_id: workerId });
    let running: Promise<unknown> = Promise.resolve();
    await record(asWorker, "reference worker: runs a task, heartbeating", workerCounter, async () => {
      running = worker.run(
        workerTask,
        (signal) => new Promise((_, reject) => signal.addEventListener("abort", reject)),
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
    });

    // --- The stop function -----------------------------------------------------------------------------------------
    const asStop = { kind: "function", name: "stop-task" } as const;
    await record(asStop, "stop function: stops a worker's task over HTTP", stop.counter, () =>
      expectStatus(stop.http(aStopRequest(workerTask, API_KEY)), 200, "stop"),
    );
    await record(asWorker, "reference worker: honours the stop (acknowledge, delete)", workerCounter, async () => {
      await worker.pollOnce(1);
      await running;
    });
    const otherTask = await aRunningTask(aws, { worker_id: workerId });
    await record(asWorker, "reference worker: finishes a task", workerCounter, () =>
      dynamoWorkerExecutionUpdates(workerDynamoDb, aws.resources.tables.executions).complete(
        otherTask,
        workerId,
        "done",
      ),
    );
    const usageTask = await aRunningTask(aws, { worker_id: workerId });
    await record(asWorker, "npm run worker -- --spend-tokens: reports usage", workerCounter, () =>
      dynamoTokenUsageReporter(
        workerDynamoDb,
        aws.resources.tables.executions,
        usageTask,
      )({
        prompt_tokens: 10,
        completion_tokens: 5,
      }),
    );

    const environment = createReferenceWorker({
      workerId: "iam-env-agent",
      environmentId,
      sqs: workerSqs,
      signalQueue: ownerQueueSettings(aws.resources.signal_channels.environments),
      updates: dynamoWorkerExecutionUpdates(workerDynamoDb, aws.resources.tables.executions),
      pollWaitSeconds: 1,
    });
    const asEnvironment = { kind: "environment", ownerId: environmentId } as const;
    await aQueueOfAnOlderVersion(
      aws,
      signalQueueName(aws.resources.signal_channels.environments.name_prefix, environmentId),
    );
    await record(
      asEnvironment,
      "environment's consumer: opens its queue (made by an older version)",
      workerCounter,
      () => environment.openQueue(),
    );
    const environmentTask = await aRunningTask(aws, { worker_id: "iam-env-agent", environment_id: environmentId });
    await record(asStop, "stop function: stops an environment's task (direct invoke)", stop.counter, async () => {
      const result = await stop.invoke({
        action: "stop_task",
        task_id: environmentTask,
        reason: "proving the deployed permissions",
        requested_by: "deployed-permissions.test.ts",
      });
      if (!result.ok) throw new Error(`direct stop: ${JSON.stringify(result)}`);
    });
    await record(asEnvironment, "environment's consumer: honours the stop", workerCounter, () =>
      environment.pollOnce(1),
    );
    const limitedTask = await aRunningTask(aws, { worker_id: workerId });
    await record(asStop, "stop function: sets a task's limits", stop.counter, () =>
      expectStatus(stop.http(limitsRequest(limitedTask, { max_tokens: 1_000 })), 200, "limits"),
    );

    // --- The get function ------------------------------------------------------------------------------------------
    const getDynamoDb = localDynamoDbClient();
    const getCounter = countAwsCalls(getDynamoDb);
    const getTask = composeGetTask(
      readGetTaskConfig({
        EXECUTIONS_TABLE_NAME: aws.resources.tables.executions,
        API_KEYS_TABLE_NAME: aws.resources.tables.api_keys,
      }),
      { dynamoDb: getDynamoDb },
    );
    await record({ kind: "function", name: "get-task" }, "get function: reads a task", getCounter, () =>
      expectStatus(
        getTask(
          toApiGatewayProxyEvent({
            method: "GET",
            path: `/v1/tasks/${workerTask}`,
            resource: "/v1/tasks/{task_id}",
            pathParameters: { task_id: workerTask },
            rawHeaders: [["x-api-key", API_KEY]],
            body: null,
            stage: "test",
          }),
          localLambdaContext("get-task"),
        ),
        200,
        "get",
      ),
    );

    // --- The stream processor, publishing to an EventBridge bus as deployed ----------------------------------------
    const eventBridgeOptions = { region, credentials, endpoint: moto.endpoint };
    await new EventBridgeClient(eventBridgeOptions).send(new CreateEventBusCommand({ Name: busName }));
    const streamDynamoDb = localDynamoDbClient();
    const streamSqs = localSqsClient();
    const eventBridge = new EventBridgeClient({ ...commonOptions(localClientOptions), ...eventBridgeOptions });
    const streamCounter = countAwsCalls(streamDynamoDb, streamSqs, eventBridge);
    const asStream = { kind: "function", name: "execution-stream" } as const;
    await putOrganizationLimits(aws.dynamoDb, aws.resources.tables.limits, ORGANIZATION, { max_tokens: 100 });
    const stream = await startExecutionStream(aws, {
      dynamoDb: streamDynamoDb,
      sqs: streamSqs,
      override: () => ({ publishEvents: eventBridgeTaskEventPublisher(eventBridge, busName) }),
    });
    try {
      // Everything written so far (the stops above, the running tasks' deadlines) reaches the processor first.
      await record(asStream, "stream processor: writes deadlines, publishes the stops' events", streamCounter, () =>
        stream.settled(),
      );
      const child = await aRunningTask(aws, { worker_id: workerId });
      const environmentChild = await aRunningTask(aws, { worker_id: "iam-env-agent", environment_id: environmentId });
      // The orchestrator's list of sub-executions, which the cascade reads.
      const parent = await aRunningTask(aws, { worker_id: workerId, sub_executions: [child, environmentChild] });
      await stream.settled();
      await record(asStream, "stream processor: cascades a stop to a sub-execution", streamCounter, async () => {
        await expectStatus(stop.http(aStopRequest(parent, API_KEY)), 200, "stop parent");
        await stream.settled();
      });
      await record(
        asStream,
        "stream processor: stops a sub-execution started after its parent's stop",
        streamCounter,
        async () => {
          await aRunningTask(aws, { worker_id: workerId, parent_execution: parent });
          await aRunningTask(aws, {
            worker_id: "iam-env-agent",
            environment_id: environmentId,
            parent_execution: parent,
          });
          await stream.settled();
        },
      );
      const spender = await aRunningTask(aws, { worker_id: workerId });
      await record(
        asStream,
        "stream processor: a runaway guard stops a task over its tokens",
        streamCounter,
        async () => {
          await dynamoTokenUsageReporter(
            aws.dynamoDb,
            aws.resources.tables.executions,
            spender,
          )({
            prompt_tokens: 500,
            completion_tokens: 5,
          });
          await stream.settled();
        },
      );

      // --- The bulk stop function, over HTTP and from its jobs queue, publishing to the bus as deployed ------------
      // (runJobs receives and deletes the queue's messages with a client of its own, as the event source does.)
      const bulkEventBridge = new EventBridgeClient({ ...commonOptions(localClientOptions), ...eventBridgeOptions });
      const bulkEventsCounter = countAwsCalls(bulkEventBridge);
      const bulk = bulkStopHarness(aws, {
        override: () => ({ publishEvents: eventBridgeTaskEventPublisher(bulkEventBridge, busName) }),
      });
      const asBulk = { kind: "function", name: "bulk-stop" } as const;
      const recordBulk = (scenario: string, body: () => Promise<unknown>) =>
        record(asBulk, scenario, bulk.counter, () => record(asBulk, scenario, bulkEventsCounter, body));
      const agent = "iam-bulk-agent";
      await record(
        asStream,
        "stream processor: enters new tasks in their organization's index",
        streamCounter,
        async () => {
          await aRunningTask(aws, { worker_id: workerId, agent_id: agent });
          await aRunningTask(aws, { worker_id: "iam-env-agent", environment_id: environmentId, agent_id: agent });
          await stream.settled();
        },
      );
      await recordBulk("bulk stop function: counts an agent's tasks (dry run)", () =>
        expectStatus(
          bulk.http(aBulkStopRequest({ scope: { agent_id: agent }, dry_run: true }, API_KEY)),
          200,
          "dry run",
        ),
      );
      let stopId = "";
      await recordBulk("bulk stop function: starts a bulk stop", async () => {
        const created = await bulk.http(
          aBulkStopRequest({ scope: { agent_id: agent }, reason: "proving the deployed permissions" }, API_KEY),
        );
        if (created.statusCode !== 202) throw new Error(`bulk stop: ${created.statusCode} ${created.body}`);
        stopId = readView(created).stop_id;
      });
      await record(asStream, "stream processor: publishes a bulk stop's stops", streamCounter, async () => {
        await recordBulk("bulk stop function: runs a bulk stop from its queue, publishes its completion", () =>
          bulk.runJobs(stopId),
        );
        await stream.settled();
      });
      const stoppedByBulk = readView(await bulk.http(aBulkStopLookup(stopId, API_KEY)));
      if (stoppedByBulk.status !== "done" || stoppedByBulk.matched !== 2)
        throw new Error(`bulk stop run: ${JSON.stringify(stoppedByBulk)}`);
      let holdId = "";
      const withKey = () =>
        bulk.http(
          aBulkStopRequest({ scope: { agent_id: agent }, hold_seconds: 600 }, API_KEY, [
            ["Idempotency-Key", "iam-hold"],
          ]),
        );
      await recordBulk("bulk stop function: starts a bulk stop with a hold, under an Idempotency-Key", async () => {
        const created = await withKey();
        if (created.statusCode !== 202) throw new Error(`bulk stop with a hold: ${created.statusCode} ${created.body}`);
        holdId = readView(created).stop_id;
      });
      await recordBulk("bulk stop function: answers a repeated Idempotency-Key with its bulk stop", async () => {
        const again = await withKey();
        if (again.statusCode !== 202 || readView(again).stop_id !== holdId)
          throw new Error(`repeated Idempotency-Key: ${again.statusCode} ${again.body}`);
      });
      await recordBulk("bulk stop function: reads a bulk stop", () =>
        expectStatus(bulk.http(aBulkStopLookup(holdId, API_KEY)), 200, "read a bulk stop"),
      );
      await record(asStream, "stream processor: a hold stops a task at birth", streamCounter, async () => {
        const born = await aRunningTask(aws, { worker_id: workerId, agent_id: agent });
        await stream.settled();
        const stored = await getStoredItem(aws.dynamoDb, aws.resources.tables.executions, born);
        if (stored?.status !== "stopped" || stored?.stop_reason !== "held")
          throw new Error(`a task born during a hold: ${JSON.stringify(stored)}`);
      });
      await recordBulk("bulk stop function: ends a hold", () =>
        expectStatus(bulk.http(aBulkStopLookup(holdId, API_KEY, true)), 200, "end a hold"),
      );
      const held = readView(await bulk.http(aBulkStopLookup(holdId, API_KEY)));
      if (held.hold_active || held.held !== 1) throw new Error(`the hold: ${JSON.stringify(held)}`);

      if (stream.failedRecords.length > 0) throw new Error(`stream records failed: ${stream.failedRecords.join(", ")}`);
    } finally {
      await stream.stop();
    }

    // --- The cleanup, stopping through Lambda's Invoke as deployed -------------------------------------------------
    const cleanupDynamoDb = localDynamoDbClient();
    const cleanupSqs = localSqsClient();
    const lambda = new LambdaClient({
      ...commonOptions(localClientOptions),
      region,
      credentials,
      endpoint: lambdaEndpoint.endpoint,
    });
    const cleanupCounter = countAwsCalls(cleanupDynamoDb, cleanupSqs, lambda);
    const cleanupConfig = readCleanupConfig({
      EXECUTIONS_TABLE_NAME: aws.resources.tables.executions,
      WORKER_QUEUE_URL_PREFIX: aws.resources.signal_channels.workers.url_prefix,
      ENVIRONMENT_QUEUE_URL_PREFIX: aws.resources.signal_channels.environments.url_prefix,
      STOP_FUNCTION_NAME: stopFunctionName,
      LIMITS_TABLE_NAME: aws.resources.tables.limits,
      SWEEP_POSITIONS_TABLE_NAME: aws.resources.tables.sweep_positions,
      SIGNAL_ACK_TIMEOUT_SECONDS: "0",
      MAX_EXECUTION_SECONDS: "3600",
    });
    const cleanup = composeCleanup(cleanupConfig, {
      dynamoDb: cleanupDynamoDb,
      sqs: cleanupSqs,
      invokeStop: lambdaStopInvoker(lambda, cleanupConfig.STOP_FUNCTION_NAME),
    });
    const asCleanup = { kind: "function", name: "cleanup" } as const;
    const longAgo = new Date(Date.now() - 3 * 24 * 3_600_000).toISOString();
    // Due: an unacknowledged stop (its worker is gone), a stale heartbeat, a task over the maximum
    // time, a task over its organization's duration (a default changed a minute ago: its deadlines are rewritten).
    const unacknowledged = await aRunningTask(aws, { worker_id: "iam-worker-gone" });
    await expectStatus(stop.http(aStopRequest(unacknowledged, API_KEY)), 200, "stop for the re-drive");
    const unacknowledgedByEnvironment = await aRunningTask(aws, {
      worker_id: "iam-env-agent",
      environment_id: "iam-env-gone",
    });
    await expectStatus(stop.http(aStopRequest(unacknowledgedByEnvironment, API_KEY)), 200, "environment's re-drive");
    await aRunningTask(aws, { worker_id: workerId, heartbeat_at: longAgo, started_at: new Date().toISOString() });
    await aRunningTask(aws, { worker_id: workerId, started_at: longAgo, heartbeat_at: new Date().toISOString() });
    await putOrganizationLimits(
      aws.dynamoDb,
      aws.resources.tables.limits,
      ORGANIZATION,
      { max_tokens: 100, max_duration_seconds: 60 },
      new Date(Date.now() - 60_000),
    );
    await aRunningTask(aws, {
      worker_id: workerId,
      started_at: new Date(Date.now() - 600_000).toISOString(),
      heartbeat_at: new Date().toISOString(),
    });
    await record(
      asCleanup,
      "cleanup: re-sends a stop, stops stale, over-long and over-duration tasks",
      cleanupCounter,
      () => cleanup({}, localLambdaContext("cleanup")),
    );
    // An owner's queue its owner left three days ago.
    await ensureSignalQueue(
      aws.sqs,
      ownerQueueSettings(aws.resources.signal_channels.workers),
      "iam-worker-vanished",
      new Date(longAgo),
    );
    await ensureSignalQueue(
      aws.sqs,
      ownerQueueSettings(aws.resources.signal_channels.environments),
      "iam-env-vanished",
      new Date(longAgo),
    );
    for (const channel of [aws.resources.signal_channels.workers, aws.resources.signal_channels.environments])
      await aws.sqs.send(new CreateQueueCommand({ QueueName: `${channel.name_prefix}made-by-hand` }));
    await record(asCleanup, "cleanup: sweeps vanished owners' queues", cleanupCounter, () =>
      cleanup({ job: SWEEP_SIGNAL_QUEUES_JOB }, localLambdaContext("cleanup")),
    );

    // --- The Python worker kit -------------------------------------------------------------------------------------
    calls.push(...(await recordPythonKit(aws, stop, workerId)));

    // --- The operator commands (npm run keys, npm run limits: the functions they call, on a client of their own) ---
    const operatorDynamoDb = localDynamoDbClient();
    const operatorCounter = countAwsCalls(operatorDynamoDb);
    const keys = { kind: "operator", command: "npm run keys" } as const;
    const issued = await issueApiKeyRecorded();
    async function issueApiKeyRecorded() {
      let keyId = "";
      await record(keys, "npm run keys -- create", operatorCounter, async () => {
        keyId = (await issueApiKey(operatorDynamoDb, aws.resources.tables.api_keys, { organizationId: ORGANIZATION }))
          .keyId;
      });
      return keyId;
    }
    await record(keys, "npm run keys -- revoke", operatorCounter, () =>
      revokeApiKey(operatorDynamoDb, aws.resources.tables.api_keys, issued),
    );
    const limits = { kind: "operator", command: "npm run limits" } as const;
    await record(limits, "npm run limits -- set", operatorCounter, () =>
      putOrganizationLimits(operatorDynamoDb, aws.resources.tables.limits, ORGANIZATION, { max_tokens: 100 }),
    );
    await record(limits, "npm run limits -- get", operatorCounter, () =>
      getOrganizationLimits(operatorDynamoDb, aws.resources.tables.limits, ORGANIZATION),
    );
    // npm run stops: what infra/admin/stops.ts calls, on clients of its own (the run itself is the function's).
    const stopsDynamoDb = localDynamoDbClient();
    const operatorSqs = localSqsClient();
    const stopsCounter = countAwsCalls(stopsDynamoDb, operatorSqs);
    const stops = { kind: "operator", command: "npm run stops" } as const;
    const operatorStore = dynamoBulkStopStore(stopsDynamoDb, aws.resources.tables.bulk_stops);
    const operatorCreate = {
      store: operatorStore,
      tasks: dynamoScopedTaskReader(stopsDynamoDb, aws.resources.tables.executions),
      enqueueRun: async (job: { stop_id: string; queued_at: number }) => {
        await operatorSqs.send(
          new SendMessageCommand({ QueueUrl: aws.resources.queues.bulk_stop_jobs, MessageBody: JSON.stringify(job) }),
        );
      },
      now: () => new Date(),
    };
    let operatorStopId = "";
    await record(stops, "npm run stops -- --org --agent --hold", stopsCounter, async () => {
      const created = await createBulkStop(
        { scope: { agent_id: "agent-operator" }, hold_seconds: 60 },
        { organizationId: ORGANIZATION, createdBy: "operator:iam" },
        operatorCreate,
      );
      if (created.kind !== "created") throw new Error("npm run stops: no bulk stop created");
      operatorStopId = created.view.stop_id;
    });
    await record(stops, "npm run stops -- show / end-hold", stopsCounter, async () => {
      await operatorStore.get(operatorStopId);
      await operatorStore.endHold(operatorStopId, ORGANIZATION, new Date().toISOString());
    });
  } finally {
    await Promise.all([lambdaEndpoint.close(), moto.close()]);
  }
  return { calls, localPrefix };
}

/** The Python kit's flows (python-kit-flows.py), its calls recorded by a botocore hook into a file. */
async function recordPythonKit(
  aws: LocalAws,
  stop: ReturnType<typeof stopTaskHarness>,
  tsWorkerId: string,
): Promise<RecordedCall[]> {
  const workerId = "iam-py-worker";
  const environmentId = "iam-py-env";
  // The queues exist before the stops are sent (as they do once the kit has started); the kit opens them again.
  await ensureSignalQueue(aws.sqs, ownerQueueSettings(aws.resources.signal_channels.workers), workerId);
  await ensureSignalQueue(aws.sqs, ownerQueueSettings(aws.resources.signal_channels.environments), environmentId);
  const stopped = await aRunningTask(aws, { worker_id: workerId });
  const running = await aRunningTask(aws, { worker_id: workerId });
  const environmentTask = await aRunningTask(aws, { worker_id: tsWorkerId, environment_id: environmentId });
  await expectStatus(stop.http(aStopRequest(stopped, API_KEY)), 200, "stop for the Python worker");
  await expectStatus(stop.http(aStopRequest(environmentTask, API_KEY)), 200, "stop for the Python environment");
  const directory = await mkdtemp(join(tmpdir(), "stop-task-iam-"));
  const logFile = join(directory, "python-calls.jsonl");
  try {
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn("python3", [fileURLToPath(new URL("./python-kit-flows.py", import.meta.url))], {
        cwd: ROOT,
        env: {
          ...process.env,
          PYTHONPATH: "workers/python",
          PYTHONDONTWRITEBYTECODE: "1",
          STOP_TASK_CALL_LOG: logFile,
          STOP_TASK_TEST_STACK: JSON.stringify({
            dynamodb_endpoint: inject("dynamoDbEndpoint"),
            sqs_endpoint: inject("sqsEndpoint"),
            tables: aws.resources.tables,
            signal_channels: aws.resources.signal_channels,
          }),
          STOP_TASK_FLOWS: JSON.stringify({
            worker_id: workerId,
            environment_id: environmentId,
            running_task_id: running,
          }),
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let text = "";
      child.stdout.on("data", (chunk: Buffer) => {
        text += chunk.toString("utf8");
      });
      child.stderr.on("data", (chunk: Buffer) => {
        text += chunk.toString("utf8");
      });
      child.on("error", reject);
      child.on("close", (exitCode) => resolve({ code: exitCode, output: text }));
    });
    if (code !== 0) throw new Error(`python-kit-flows.py failed (${code}):\n${output}`);
    const lines = (await readFile(logFile, "utf8")).split("\n").filter((line) => line.trim() !== "");
    return lines.map((line) => {
      const { owner, scenario, service, operation, params } = JSON.parse(line) as {
        owner: { kind: "worker" | "environment"; id: string };
        scenario: string;
        service: string;
        operation: string;
        params: Record<string, unknown>;
      };
      return {
        caller: { kind: owner.kind, ownerId: owner.id },
        scenario,
        request: { client: service, command: `${operation}Command`, input: params },
      };
    });
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
