import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { writeStackFile } from "../../../infra/local/stack-file.js";
import { bulkStopHarness } from "../../support/bulk-stop-harness.js";
import { type ExecutionStreamHarness, startExecutionStream } from "../../support/execution-stream-harness.js";
import { anExecution } from "../../support/factories.js";
import { drainQueue, getStoredItem, type LocalAws, provisionIsolatedStack, putItem } from "../../support/local-aws.js";

const run = promisify(execFile);
let aws: LocalAws;
let stream: ExecutionStreamHarness;
let stackFile: string;

beforeAll(async () => {
  aws = await provisionIsolatedStack();
  stream = await startExecutionStream(aws);
  stackFile = join(await mkdtemp(join(tmpdir(), "stops-command-")), "stack.json");
  await writeStackFile(stackFile, {
    api_url: "http://127.0.0.1:1",
    region: "us-east-1",
    dynamodb_endpoint: inject("dynamoDbEndpoint"),
    sqs_endpoint: inject("sqsEndpoint"),
    tables: aws.resources.tables,
    signal_channels: aws.resources.signal_channels,
    queues: aws.resources.queues,
  });
});

afterAll(async () => {
  await stream?.stop();
});

const stopsCommand = (...args: string[]) =>
  run(process.execPath, ["--import", "tsx", "infra/admin/stops.ts", ...args, "--stack-file", stackFile]);

describe("npm run stops", () => {
  it("counts (dry run), stops an organization's agent with a hold, shows it, ends the hold, and resumes a run", async () => {
    const organization = `org-${randomUUID().slice(0, 8)}`;
    const agent = `agent-${randomUUID().slice(0, 8)}`;
    const tasks = [
      anExecution({ organization_id: organization, agent_id: agent }),
      anExecution({ organization_id: organization, agent_id: agent }),
    ];
    const foreign = anExecution({ organization_id: "org-elsewhere", agent_id: agent });
    for (const task of [...tasks, foreign]) await putItem(aws.dynamoDb, aws.resources.tables.executions, task);
    await stream.settled();

    const dry = JSON.parse((await stopsCommand("--org", organization, "--agent", agent, "--dry-run")).stdout);
    expect(dry).toMatchObject({ dry_run: true, organization_id: organization, matched: 2 });

    const created = JSON.parse(
      (await stopsCommand("--org", organization, "--agent", agent, "--hold", "600", "--reason", "incident 7")).stdout,
    );
    expect(created).toMatchObject({ organization_id: organization, status: "running", matched: 2, hold_active: true });
    // The bulk stop function runs it from the jobs queue, as the local stack's consumer would.
    await bulkStopHarness(aws).runJobs(created.stop_id);
    for (const task of tasks)
      expect(await getStoredItem(aws.dynamoDb, aws.resources.tables.executions, task.id as string)).toMatchObject({
        status: "stopped",
        stop_reason: "bulk_stop",
        stop_note: "incident 7",
      });
    expect(await getStoredItem(aws.dynamoDb, aws.resources.tables.executions, foreign.id as string)).toMatchObject({
      status: "executing",
    });

    const shown = JSON.parse((await stopsCommand("show", created.stop_id)).stdout);
    expect(shown).toMatchObject({ status: "done", stopped: 2, hold_active: true });
    const ended = JSON.parse((await stopsCommand("end-hold", created.stop_id)).stdout);
    expect(ended).toMatchObject({ hold_active: false });
    const resumed = JSON.parse((await stopsCommand("--resume", created.stop_id)).stdout);
    expect(resumed).toEqual({ stop_id: created.stop_id, resumed: true });
    const queued = await drainQueue(aws.sqs, aws.resources.queues.bulk_stop_jobs, { waitSeconds: 1 });
    expect(queued.map((message) => JSON.parse(message.Body ?? "{}").stop_id)).toEqual([created.stop_id]);
  });

  it("refuses a scope without an agent or a time bound, and saves nothing", async () => {
    const before = await aws.dynamoDb.send(new ScanCommand({ TableName: aws.resources.tables.bulk_stops }));
    await expect(stopsCommand("--org", "org-a")).rejects.toMatchObject({ code: 2 });
    await expect(stopsCommand("--org", "org-a", "--started-after", "not a time")).rejects.toMatchObject({ code: 2 });
    const after = await aws.dynamoDb.send(new ScanCommand({ TableName: aws.resources.tables.bulk_stops }));
    expect(after.Count).toBe(before.Count);
  });
});
