/**
 * `npm run stops`: bulk stops for operators, the same as `POST /v1/stops` but for any organization named, without an
 * API key (the operator's AWS credentials decide, or the local stack's). The bulk stop function runs it from its
 * queue, as for a caller's; `--wait` follows it to the end.
 *
 *   npm run stops -- --org ORG --agent AGENT [--started-after T] [--started-before T] [--statuses a,b]
 *                    [--hold SECONDS] [--reason TEXT] [--dry-run] [--wait]
 *   npm run stops -- show STOP_ID          its progress
 *   npm run stops -- end-hold STOP_ID      ends its hold now
 *   npm run stops -- --resume STOP_ID      queues a run again (a run whose messages ended in the jobs DLQ)
 *
 * Against the running local stack by default (.local/stack.json); against a deployed stack with
 * `--table EXECUTIONS --bulk-stops-table NAME --jobs-queue-url URL --region REGION`.
 */
import { parseArgs } from "node:util";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { createSqsClient } from "../../lib/aws/clients.js";
import { createBulkStop } from "../../lib/bulk-stop/create.js";
import { bulkStopRequestSchema } from "../../lib/bulk-stop/scope.js";
import { dynamoScopedTaskReader } from "../../lib/bulk-stop/scoped-tasks.js";
import { dynamoBulkStopStore } from "../../lib/bulk-stop/store.js";
import { bulkStopView } from "../../lib/bulk-stop/view.js";
import { formatTimestamp } from "../../lib/timestamp.js";
import { localClientOptions } from "../local/emulators.js";
import { readStackFile } from "../local/stack-file.js";
import { tableTarget } from "./table-target.js";

const usage = `usage:
  npm run stops -- --org ORG (--agent AGENT | --started-after T | --started-before T) [--started-before T]
                   [--statuses pending,executing,paused,error] [--hold SECONDS] [--reason TEXT] [--dry-run] [--wait]
  npm run stops -- show STOP_ID
  npm run stops -- end-hold STOP_ID
  npm run stops -- --resume STOP_ID
Deployed: add --table EXECUTIONS_TABLE --bulk-stops-table BULK_STOPS_TABLE --jobs-queue-url URL --region REGION.
Without them the command uses the local stack that npm start is running (.local/stack.json).`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    org: { type: "string" },
    agent: { type: "string" },
    "started-after": { type: "string" },
    "started-before": { type: "string" },
    statuses: { type: "string" },
    hold: { type: "string" },
    reason: { type: "string" },
    "dry-run": { type: "boolean" },
    wait: { type: "boolean" },
    resume: { type: "string" },
    table: { type: "string" },
    "bulk-stops-table": { type: "string" },
    "jobs-queue-url": { type: "string" },
    region: { type: "string" },
    "stack-file": { type: "string" },
  },
});

async function target() {
  const { client, tableName } = await tableTarget(
    { table: values.table, region: values.region, stackFile: values["stack-file"] },
    (stack) => stack.tables.executions,
  );
  if (values.table) {
    const bulkStopsTable = values["bulk-stops-table"];
    const jobsQueueUrl = values["jobs-queue-url"];
    if (!bulkStopsTable || !jobsQueueUrl)
      throw new Error("with --table, give --bulk-stops-table and --jobs-queue-url too");
    return {
      dynamoDb: client,
      executionsTable: tableName,
      bulkStopsTable,
      jobsQueueUrl,
      sqs: createSqsClient({ ...localClientOptions, region: values.region }),
    };
  }
  const stack = await readStackFile(values["stack-file"]);
  return {
    dynamoDb: client,
    executionsTable: tableName,
    bulkStopsTable: stack.tables.bulk_stops,
    jobsQueueUrl: stack.queues.bulk_stop_jobs,
    sqs: createSqsClient({ ...localClientOptions, region: stack.region, endpoint: stack.sqs_endpoint }),
  };
}

async function main(): Promise<void> {
  const [command, stopId] = positionals;
  const where = await target();
  const store = dynamoBulkStopStore(where.dynamoDb, where.bulkStopsTable);
  const enqueueRun = async (job: { stop_id: string; queued_at: number }, delaySeconds?: number) => {
    await where.sqs.send(
      new SendMessageCommand({
        QueueUrl: where.jobsQueueUrl,
        MessageBody: JSON.stringify(job),
        ...(delaySeconds ? { DelaySeconds: delaySeconds } : {}),
      }),
    );
  };
  const show = async (id: string) => {
    const bulkStop = await store.get(id);
    if (!bulkStop) throw new Error(`no bulk stop ${id}`);
    return { organization_id: bulkStop.organization_id, ...bulkStopView(bulkStop, formatTimestamp(new Date())) };
  };

  if ((command === "show" || command === "end-hold") && stopId) {
    if (command === "end-hold") {
      const bulkStop = await store.get(stopId);
      if (!bulkStop) throw new Error(`no bulk stop ${stopId}`);
      await store.endHold(stopId, bulkStop.organization_id, formatTimestamp(new Date()));
    }
    console.log(JSON.stringify(await show(stopId)));
    return;
  }
  if (values.resume) {
    await show(values.resume);
    await enqueueRun({ stop_id: values.resume, queued_at: Date.now() });
    console.log(JSON.stringify({ stop_id: values.resume, resumed: true }));
    return;
  }
  if (command !== undefined || !values.org) {
    console.error(usage);
    process.exit(2);
  }
  const parsed = bulkStopRequestSchema.safeParse({
    scope: {
      ...(values.agent === undefined ? {} : { agent_id: values.agent }),
      ...(values["started-after"] === undefined ? {} : { started_after: values["started-after"] }),
      ...(values["started-before"] === undefined ? {} : { started_before: values["started-before"] }),
      ...(values.statuses === undefined ? {} : { statuses: values.statuses.split(",").map((status) => status.trim()) }),
    },
    ...(values.reason === undefined ? {} : { reason: values.reason }),
    ...(values.hold === undefined ? {} : { hold_seconds: Number(values.hold) }),
    ...(values["dry-run"] ? { dry_run: true } : {}),
  });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) console.error(`${issue.path.join(".") || "scope"}: ${issue.message}`);
    console.error(usage);
    process.exit(2);
  }
  const result = await createBulkStop(
    parsed.data,
    { organizationId: values.org, createdBy: `operator:${process.env.USER ?? "unknown"}` },
    { store, tasks: dynamoScopedTaskReader(where.dynamoDb, where.executionsTable), enqueueRun, now: () => new Date() },
  );
  if (result.kind === "dry_run") {
    console.log(
      JSON.stringify({ dry_run: true, organization_id: values.org, scope: result.scope, matched: result.matched }),
    );
    return;
  }
  console.log(JSON.stringify({ organization_id: values.org, ...result.view }));
  if (!values.wait) return;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const progress = await show(result.view.stop_id);
    if (progress.status === "done") {
      console.log(JSON.stringify(progress));
      return;
    }
  }
}

main().catch((error: unknown) => {
  console.error(`npm run stops: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
