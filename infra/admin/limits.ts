/**
 * `npm run limits -- set --org ORG [--max-tokens N] [--max-duration-seconds N] [--max-tool-calls N]`
 * / `npm run limits -- show --org ORG`. An organization's default limits for the runaway guards:
 * `set` replaces them (a limit not given is unset). Against the running local stack by default
 * (.local/stack.json); against a deployed table with `--table NAME --region REGION`, as `npm run
 * keys` does. The guards keep an organization's limits up to five seconds: a change is in force
 * within that.
 */
import { parseArgs } from "node:util";
import { createDynamoDbClient } from "../../lib/aws/clients.js";
import { getOrganizationLimits, putOrganizationLimits } from "../../lib/executions/limits-store.js";
import type { LimitName, Limits } from "../../lib/limits.js";
import { readStackFile } from "../local/stack-file.js";

const usage = `usage:
  npm run limits -- set --org ORG [--max-tokens N] [--max-duration-seconds N] [--max-tool-calls N] [--table NAME --region REGION]
  npm run limits -- show --org ORG [--table NAME --region REGION]
set replaces the organization's defaults: a limit not given is unset. Without --table the command
uses the local stack that npm start is running (.local/stack.json).`;

async function target(table: string | undefined, region: string | undefined, stackFile: string | undefined) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const clientOptions = { requestTimeoutMs: 5000, connectionTimeoutMs: 2000, maxAttempts: 3 };
  if (table) return { tableName: table, client: createDynamoDbClient({ ...clientOptions, region }) };
  const stack = await readStackFile(stackFile).catch(() => {
    throw new Error("no local stack found (.local/stack.json): run npm start first, or pass --table and --region");
  });
  process.env.AWS_ACCESS_KEY_ID ??= "local";
  process.env.AWS_SECRET_ACCESS_KEY ??= "local";
  return { tableName: stack.tables.limits, client: createDynamoDbClient({ ...clientOptions, region: stack.region, endpoint: stack.dynamodb_endpoint }) };
}

function limitArgument(option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new Error(`--${option} is not a non-negative integer: ${value}`);
  return Number(value);
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      org: { type: "string" },
      "max-tokens": { type: "string" },
      "max-duration-seconds": { type: "string" },
      "max-tool-calls": { type: "string" },
      table: { type: "string" },
      region: { type: "string" },
      "stack-file": { type: "string" },
    },
  });
  const [command] = positionals;
  if (command === "set" && values.org) {
    const options: Record<LimitName, string> = { max_tokens: "max-tokens", max_duration_seconds: "max-duration-seconds", max_tool_calls: "max-tool-calls" };
    const limits: { [name in LimitName]?: number } = {};
    for (const [name, option] of Object.entries(options) as [LimitName, string][]) {
      const value = limitArgument(option, values[option as keyof typeof values] as string | undefined);
      if (value !== undefined) limits[name] = value;
    }
    const { client, tableName } = await target(values.table, values.region, values["stack-file"]);
    await putOrganizationLimits(client, tableName, values.org, limits);
    console.log(JSON.stringify({ organization_id: values.org, limits: await getOrganizationLimits(client, tableName, values.org) }));
    return;
  }
  if (command === "show" && values.org) {
    const { client, tableName } = await target(values.table, values.region, values["stack-file"]);
    const limits: Limits = await getOrganizationLimits(client, tableName, values.org);
    console.log(JSON.stringify({ organization_id: values.org, limits }));
    return;
  }
  console.error(usage);
  process.exit(2);
}

main().catch((error: unknown) => {
  console.error(`limits: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
