import { randomUUID } from "node:crypto";
import * as fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ExecutionStatus, executionStatuses, isTerminal } from "../../../lib/execution.js";
import { stopMessageSchema } from "../../../lib/signals/stop-message.js";
import { dynamoWorkerExecutionUpdates, type WorkerExecutionUpdates } from "../../../lib/worker/execution-updates.js";
import { anExecution } from "../../support/factories.js";
import { type InProcessApi, startInProcessApi } from "../../support/in-process-api.js";
import {
  drainQueue,
  environmentQueueUrl,
  getStoredItem,
  type LocalAws,
  provisionIsolatedStack,
  putItem,
  storeApiKey,
  workerQueueUrl,
} from "../../support/local-aws.js";

/**
 * Model-based property test: random sequences of stops, reads and worker-side writes, issued by
 * keys of several organizations against a few executions in random states. After every step the
 * HTTP status, every stored record and the messages on both queues must match a small pure
 * reference model. fast-check prints the seed and the shrunk sequence when a run fails.
 */

const NUM_RUNS = 40;
const MAX_COMMANDS = 15;

// --- Callers ---------------------------------------------------------------------------------

const organizations = ["org-a", "org-b", "org-c"] as const;
type Organization = (typeof organizations)[number];

/** Every kind of credential a caller may present; only the first two authorize anything. */
const callers = {
  orgA: { key: `sk-model-a-${randomUUID()}`, valid: { organizationId: "org-a", keyId: "key-model-a" } },
  orgB: { key: `sk-model-b-${randomUUID()}`, valid: { organizationId: "org-b", keyId: "key-model-b" } },
  orgARevoked: { key: `sk-model-a-revoked-${randomUUID()}`, valid: undefined },
  orgCExpired: { key: `sk-model-c-expired-${randomUUID()}`, valid: undefined },
  unknown: { key: `sk-model-unknown-${randomUUID()}`, valid: undefined },
  missing: { key: undefined, valid: undefined },
} as const satisfies Record<
  string,
  { key: string | undefined; valid: { organizationId: Organization; keyId: string } | undefined }
>;
type CallerName = keyof typeof callers;
const callerNames = Object.keys(callers) as CallerName[];

const workers = ["worker-1", "worker-2"] as const;
const ENVIRONMENT = "env-factory-floor";
const otherWorker = (workerId: string) => (workerId === workers[0] ? workers[1] : workers[0]);

// --- Generated inputs --------------------------------------------------------------------------

interface ExecutionSeed {
  readonly organization: Organization;
  readonly status: ExecutionStatus;
  readonly workerId: string;
  readonly environmentId: string | undefined;
  readonly version: number | undefined;
}

const malformedTaskIds = [
  "not-a-uuid",
  "123",
  "3fa85f64-5717-4562-b3fc-2c963f66afa6x",
  "' OR 1=1 --",
  "#status",
] as const;

type Target =
  | { readonly kind: "execution"; readonly index: number; readonly upperCase: boolean }
  | { readonly kind: "unknown" }
  | { readonly kind: "malformed"; readonly taskId: string };
type WorkerTarget = Exclude<Target, { kind: "malformed" }>;

type Route = "v1" | "compat";
interface HttpCommand {
  readonly op: "stop" | "get";
  readonly caller: CallerName;
  readonly target: Target;
  readonly route: Route;
}
interface WorkerCommand {
  readonly op: "complete" | "fail" | "heartbeat";
  readonly target: WorkerTarget;
  readonly byOwnWorker: boolean;
}
type Command = HttpCommand | WorkerCommand;

const isHttpCommand = (command: Command): command is HttpCommand => command.op === "stop" || command.op === "get";

const executionSeedArb: fc.Arbitrary<ExecutionSeed> = fc.record({
  organization: fc.constantFrom(...organizations),
  status: fc.constantFrom(...executionStatuses),
  workerId: fc.constantFrom(...workers),
  environmentId: fc.option(fc.constant(ENVIRONMENT), { nil: undefined }),
  version: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
});

const workerTargetArb: fc.Arbitrary<WorkerTarget> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant("execution" as const), index: fc.nat(), upperCase: fc.constant(false) }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "unknown" as const }) },
);

const targetArb: fc.Arbitrary<Target> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({ kind: fc.constant("execution" as const), index: fc.nat(), upperCase: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "unknown" as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("malformed" as const), taskId: fc.constantFrom(...malformedTaskIds) }),
  },
);

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("stop" as const),
      caller: fc.constantFrom(...callerNames),
      target: targetArb,
      route: fc.constantFrom<Route>("v1", "compat"),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("get" as const),
      caller: fc.constantFrom(...callerNames),
      target: targetArb,
      route: fc.constantFrom<Route>("v1", "compat"),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constantFrom("complete" as const, "fail" as const, "heartbeat" as const),
      target: workerTargetArb,
      byOwnWorker: fc.boolean(),
    }),
  },
);

// --- The reference model -----------------------------------------------------------------------

/** What the model knows of a stored execution: the fields the service may change, and the ones deciding who may. */
interface ModelExecution {
  readonly id: string;
  readonly organization_id: Organization;
  readonly status: ExecutionStatus;
  readonly worker_id: string;
  readonly environment_id: string | undefined;
  readonly version: number | undefined;
  readonly result: string | undefined;
  readonly stopped_by: string | undefined;
  readonly is_manually_stopped: boolean | undefined;
}

type Model = ReadonlyMap<string, ModelExecution>;

type ExpectedReply =
  | { readonly kind: "http"; readonly status: 200; readonly execution: ModelExecution }
  | { readonly kind: "http"; readonly status: 401 | 403 | 404 | 422 }
  | { readonly kind: "finish"; readonly result: "finished" | "not_found" | "refused" }
  | { readonly kind: "finish"; readonly result: "already_terminal"; readonly status: ExecutionStatus }
  | { readonly kind: "heartbeat"; readonly result: "alive" | "stop_requested" | "not_running" };

interface ExpectedMessage {
  /** Whose own queue: `worker:<worker_id>`, or `environment` (the one environment these runs use). */
  readonly queue: string;
  readonly execution: ModelExecution;
  readonly requestedBy: string;
}

interface Expectation {
  readonly reply: ExpectedReply;
  readonly model: Model;
  /** The one execution the step writes to, if any; every other stored item must stay byte-for-byte the same. */
  readonly writes: string | undefined;
  readonly messages: readonly ExpectedMessage[];
}

interface Run {
  readonly ids: readonly string[];
  readonly unknownId: string;
}

function resolveTaskId(run: Run, target: Target): string {
  switch (target.kind) {
    case "execution": {
      const id = run.ids[target.index % run.ids.length] ?? "";
      return target.upperCase ? id.toUpperCase() : id;
    }
    case "unknown":
      return run.unknownId;
    case "malformed":
      return target.taskId;
  }
}

function nextVersion(version: number | undefined): number {
  return (version ?? 0) + 1;
}

/** The whole specification of the service, for one step: pure, no I/O. */
function expectedStep(model: Model, run: Run, command: Command): Expectation {
  const unchanged = (reply: ExpectedReply): Expectation => ({ reply, model, writes: undefined, messages: [] });
  const taskId = resolveTaskId(run, command.target).toLowerCase();
  const current = model.get(taskId);
  const withExecution = (next: ModelExecution): Model => new Map(model).set(next.id, next);

  if (isHttpCommand(command)) {
    const principal = callers[command.caller].valid;
    if (!principal) return unchanged({ kind: "http", status: 401 });
    if (command.target.kind === "malformed") return unchanged({ kind: "http", status: 422 });
    if (!current) return unchanged({ kind: "http", status: 404 });
    if (current.organization_id !== principal.organizationId) return unchanged({ kind: "http", status: 403 });
    if (command.op === "get" || isTerminal(current.status))
      return unchanged({ kind: "http", status: 200, execution: current });
    const stopped: ModelExecution = {
      ...current,
      status: "stopped",
      version: nextVersion(current.version),
      stopped_by: principal.keyId,
      is_manually_stopped: true,
    };
    return {
      reply: { kind: "http", status: 200, execution: stopped },
      model: withExecution(stopped),
      writes: stopped.id,
      messages: [
        {
          queue: stopped.environment_id ? "environment" : `worker:${stopped.worker_id}`,
          execution: stopped,
          requestedBy: principal.keyId,
        },
      ],
    };
  }

  if (command.op === "heartbeat") {
    if (current && !isTerminal(current.status) && command.byOwnWorker) {
      return { reply: { kind: "heartbeat", result: "alive" }, model, writes: current.id, messages: [] };
    }
    return unchanged({ kind: "heartbeat", result: current?.status === "stopped" ? "stop_requested" : "not_running" });
  }

  if (!current) return unchanged({ kind: "finish", result: "not_found" });
  if (isTerminal(current.status))
    return unchanged({ kind: "finish", result: "already_terminal", status: current.status });
  if (!command.byOwnWorker) return unchanged({ kind: "finish", result: "refused" });
  const finished: ModelExecution = {
    ...current,
    status: command.op === "complete" ? "completed" : "failed",
    version: nextVersion(current.version),
    result: `${command.op} by ${current.worker_id}`,
  };
  return {
    reply: { kind: "finish", result: "finished" },
    model: withExecution(finished),
    writes: finished.id,
    messages: [],
  };
}

// --- The system under test ---------------------------------------------------------------------

let aws: LocalAws;
let api: InProcessApi;
let worker: WorkerExecutionUpdates;

beforeAll(async () => {
  aws = await provisionIsolatedStack({ workers, environments: [ENVIRONMENT] });
  await Promise.all([
    storeApiKey(aws, { key: callers.orgA.key, ...callers.orgA.valid }),
    storeApiKey(aws, { key: callers.orgB.key, ...callers.orgB.valid }),
    storeApiKey(aws, {
      key: callers.orgARevoked.key,
      organizationId: "org-a",
      keyId: "key-model-a-revoked",
      status: "revoked",
    }),
    storeApiKey(aws, {
      key: callers.orgCExpired.key,
      organizationId: "org-c",
      keyId: "key-model-c-expired",
      expiresAt: "2020-01-01T00:00:00.000Z",
    }),
  ]);
  api = await startInProcessApi(aws);
  worker = dynamoWorkerExecutionUpdates(aws.dynamoDb, aws.resources.tables.executions);
});

afterAll(async () => {
  await api?.close();
});

function pathFor(op: "stop" | "get", route: Route, taskId: string): { method: string; path: string } {
  const id = encodeURIComponent(taskId);
  if (op === "stop")
    return route === "v1"
      ? { method: "POST", path: `/v1/tasks/${id}/stop` }
      : { method: "DELETE", path: `/agent-execution/${id}` };
  return route === "v1"
    ? { method: "GET", path: `/v1/tasks/${id}` }
    : { method: "GET", path: `/agent-execution/${id}/status` };
}

type ActualReply =
  | { readonly kind: "http"; readonly status: number; readonly body: unknown; readonly requestId: string | null }
  | { readonly kind: "finish"; readonly result: string; readonly status?: string }
  | { readonly kind: "heartbeat"; readonly result: string };

async function perform(run: Run, model: Model, command: Command): Promise<ActualReply> {
  const taskId = resolveTaskId(run, command.target);
  if (isHttpCommand(command)) {
    const { method, path } = pathFor(command.op, command.route, taskId);
    const key = callers[command.caller].key;
    const response = await fetch(`${api.url}${path}`, {
      method,
      headers: key === undefined ? {} : { "x-api-key": key },
    });
    return {
      kind: "http",
      status: response.status,
      body: await response.json(),
      requestId: response.headers.get("x-request-id"),
    };
  }
  // A worker acts on the id it was given; "own" is the worker the execution runs on.
  const assigned = model.get(taskId)?.worker_id ?? workers[0];
  const workerId = command.byOwnWorker ? assigned : otherWorker(assigned);
  if (command.op === "heartbeat") return { kind: "heartbeat", result: await worker.heartbeat(taskId, workerId) };
  const finish = command.op === "complete" ? worker.complete : worker.fail;
  try {
    const outcome = await finish(taskId, workerId, `${command.op} by ${workerId}`);
    return outcome.kind === "already_terminal"
      ? { kind: "finish", result: outcome.kind, status: outcome.status }
      : { kind: "finish", result: outcome.kind };
  } catch {
    return { kind: "finish", result: "refused" };
  }
}

const storedItems = async (ids: readonly string[]) =>
  new Map(
    await Promise.all(
      ids.map(async (id) => [id, await getStoredItem(aws.dynamoDb, aws.resources.tables.executions, id)] as const),
    ),
  );

function projection(item: Record<string, unknown> | undefined) {
  return {
    id: item?.id,
    organization_id: item?.organization_id,
    status: item?.status,
    worker_id: item?.worker_id,
    environment_id: item?.environment_id,
    version: item?.version,
    result: item?.result,
    stopped_by: item?.stopped_by,
    is_manually_stopped: item?.is_manually_stopped,
  };
}

const errorBodies = {
  401: { detail: "Invalid or missing API key" },
  403: { detail: "Task belongs to a different organization" },
  404: { detail: "Task not found" },
  422: { detail: [{ loc: ["path", "task_id"], msg: "Input should be a valid UUID", type: "uuid_parsing" }] },
} as const;

function expectReply(actual: ActualReply, expected: ExpectedReply): void {
  if (expected.kind !== "http") {
    expect(actual).toEqual(expected);
    return;
  }
  if (actual.kind !== "http") throw new Error(`expected an HTTP reply, got ${actual.kind}`);
  expect(actual.status).toBe(expected.status);
  expect(actual.requestId).toBeTruthy();
  if (expected.status === 200) {
    const { execution } = expected;
    expect(actual.body).toMatchObject({
      id: execution.id,
      organization_id: execution.organization_id,
      status: execution.status,
      worker_id: execution.worker_id,
      environment_id: execution.environment_id ?? null,
      result: execution.result ?? null,
      stopped_by: execution.stopped_by ?? null,
      is_manually_stopped: execution.is_manually_stopped ?? false,
    });
    expect(actual.body).not.toHaveProperty("version");
  } else {
    expect(actual.body).toEqual(errorBodies[expected.status]);
  }
}

/** Independent of the model: a key of one organization never reads or changes another's execution. */
function expectTenantIsolation(
  command: Command,
  run: Run,
  before: Model,
  actual: ActualReply,
  changed: boolean,
  messageCount: number,
): void {
  if (!isHttpCommand(command)) return;
  const principal = callers[command.caller].valid;
  const target = before.get(resolveTaskId(run, command.target).toLowerCase());
  if (!principal || !target || target.organization_id === principal.organizationId) return;
  expect(actual).toMatchObject({ kind: "http", status: 403 });
  expect(JSON.stringify(actual)).not.toContain(target.id);
  expect(changed).toBe(false);
  expect(messageCount).toBe(0);
}

async function expectMessages(expected: readonly ExpectedMessage[]): Promise<number> {
  const queues = [
    ...workers.map((workerId) => ({ queue: `worker:${workerId}`, url: workerQueueUrl(aws, workerId) })),
    { queue: "environment", url: environmentQueueUrl(aws, ENVIRONMENT) },
  ];
  const drained = await Promise.all(
    queues.map(async ({ queue, url }) => ({ queue, messages: await drainQueue(aws.sqs, url) })),
  );
  const received = drained.flatMap(({ queue, messages }) =>
    messages.map((message) => ({ queue, body: stopMessageSchema.parse(JSON.parse(message.Body ?? "")) })),
  );
  expect(received).toEqual(
    expected.map(({ queue, execution, requestedBy }) => ({
      queue,
      body: expect.objectContaining({
        task_id: execution.id,
        organization_id: execution.organization_id,
        worker_id: execution.worker_id,
        environment_id: execution.environment_id ?? null,
        requested_by: requestedBy,
        is_manually_stopped: true,
        reason: "user_requested",
      }),
    })),
  );
  return received.length;
}

async function seedRun(seeds: readonly ExecutionSeed[]): Promise<{ run: Run; model: Model }> {
  const executions: ModelExecution[] = seeds.map((seed) => ({
    id: randomUUID(),
    organization_id: seed.organization,
    status: seed.status,
    worker_id: seed.workerId,
    environment_id: seed.environmentId,
    version: seed.version,
    result: undefined,
    stopped_by: undefined,
    is_manually_stopped: undefined,
  }));
  await Promise.all(
    executions.map((execution) =>
      putItem(
        aws.dynamoDb,
        aws.resources.tables.executions,
        anExecution({
          id: execution.id,
          organization_id: execution.organization_id,
          status: execution.status,
          worker_id: execution.worker_id,
          environment_id: execution.environment_id,
          version: execution.version,
        }),
      ),
    ),
  );
  return {
    run: { ids: executions.map((execution) => execution.id), unknownId: randomUUID() },
    model: new Map(executions.map((execution) => [execution.id, execution])),
  };
}

describe("stop, get and worker writes against a reference model", () => {
  // Every step reads back every record and drains both queues: slow on a busy machine, never flaky.
  it(`agree on status, stored record and messages after every step (${NUM_RUNS} runs of up to ${MAX_COMMANDS} commands)`, {
    timeout: 180_000,
  }, async () => {
    let steps = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(executionSeedArb, { minLength: 1, maxLength: 4 }),
        fc.array(commandArb, { minLength: 1, maxLength: MAX_COMMANDS }),
        async (seeds, commands) => {
          let { run, model } = await seedRun(seeds);
          let stored = await storedItems(run.ids);
          for (const command of commands) {
            const expected = expectedStep(model, run, command);

            const actual = await perform(run, model, command);

            expectReply(actual, expected.reply);
            const after = await storedItems(run.ids);
            for (const id of run.ids) {
              expect(projection(after.get(id))).toEqual(
                projection(expected.model.get(id) as Record<string, unknown> | undefined),
              );
              if (id !== expected.writes) expect(after.get(id)).toEqual(stored.get(id));
            }
            const changed = run.ids.some((id) => JSON.stringify(after.get(id)) !== JSON.stringify(stored.get(id)));
            const messageCount = await expectMessages(expected.messages);
            expectTenantIsolation(command, run, model, actual, changed, messageCount);
            model = expected.model;
            stored = after;
            steps += 1;
          }
        },
      ),
      { numRuns: NUM_RUNS },
    );
    expect(steps).toBeGreaterThan(NUM_RUNS);
  });
});

describe("the reference model itself", () => {
  const run: Run = { ids: ["3fa85f64-5717-4562-b3fc-2c963f66afa6"], unknownId: "00000000-0000-4000-8000-000000000000" };
  const execution: ModelExecution = {
    id: "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    organization_id: "org-a",
    status: "executing",
    worker_id: "worker-1",
    environment_id: undefined,
    version: undefined,
    result: undefined,
    stopped_by: undefined,
    is_manually_stopped: undefined,
  };
  const model: Model = new Map([[execution.id, execution]]);
  const onExecution = { kind: "execution", index: 0, upperCase: false } as const;

  it("checks the key before the id, the id before existence, and tenancy before state", () => {
    expect(
      expectedStep(model, run, {
        op: "stop",
        caller: "orgARevoked",
        target: { kind: "malformed", taskId: "x" },
        route: "v1",
      }).reply,
    ).toEqual({ kind: "http", status: 401 });
    expect(
      expectedStep(model, run, { op: "stop", caller: "orgB", target: { kind: "malformed", taskId: "x" }, route: "v1" })
        .reply,
    ).toEqual({ kind: "http", status: 422 });
    expect(
      expectedStep(model, run, { op: "get", caller: "orgB", target: { kind: "unknown" }, route: "compat" }).reply,
    ).toEqual({ kind: "http", status: 404 });
    expect(expectedStep(model, run, { op: "stop", caller: "orgB", target: onExecution, route: "v1" })).toMatchObject({
      reply: { status: 403 },
      writes: undefined,
      messages: [],
    });
  });

  it("stops a running execution once, with one message, and finishes only by its own worker", () => {
    const stop = expectedStep(model, run, { op: "stop", caller: "orgA", target: onExecution, route: "compat" });
    expect(stop).toMatchObject({
      reply: { status: 200 },
      writes: execution.id,
      messages: [{ queue: "worker:worker-1" }],
    });
    expect(stop.model.get(execution.id)).toMatchObject({ status: "stopped", version: 1, stopped_by: "key-model-a" });
    expect(
      expectedStep(stop.model, run, { op: "stop", caller: "orgA", target: onExecution, route: "v1" }),
    ).toMatchObject({ writes: undefined, messages: [] });
    expect(expectedStep(stop.model, run, { op: "heartbeat", target: onExecution, byOwnWorker: false }).reply).toEqual({
      kind: "heartbeat",
      result: "stop_requested",
    });
    expect(expectedStep(model, run, { op: "complete", target: onExecution, byOwnWorker: false }).reply).toEqual({
      kind: "finish",
      result: "refused",
    });
    expect(
      expectedStep(model, run, { op: "fail", target: onExecution, byOwnWorker: true }).model.get(execution.id),
    ).toMatchObject({ status: "failed", version: 1 });
  });
});
