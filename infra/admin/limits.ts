/**
 * `npm run limits -- set --org ORG [--max-tokens N] [--max-duration-seconds N] [--max-tool-calls N]`
 * / `npm run limits -- show --org ORG`. An organization's default limits for the runaway guards:
 * `set` replaces them (a limit not given is unset). Against the running local stack by default
 * (.local/stack.json); against a deployed table with `--table NAME --region REGION`, as `npm run
 * keys` does. The guards keep an organization's limits up to five seconds: a change is in force
 * within that.
 */
import { parseArgs } from "node:util";
import { getOrganizationLimits, putOrganizationLimits } from "../../lib/executions/limits-store.js";
import { type LimitName, type Limits, limitMaximums } from "../../lib/limits.js";
import { tableTarget } from "./table-target.js";

const usage = `usage:
  npm run limits -- set --org ORG [--max-tokens N] [--max-duration-seconds N] [--max-tool-calls N] [--table NAME --region REGION]
  npm run limits -- show --org ORG [--table NAME --region REGION]
set replaces the organization's defaults: a limit not given is unset. --max-duration-seconds is at
most 315360000 (10 years); the counts at most 9007199254740991. Without --table the command
uses the local stack that npm start is running (.local/stack.json).`;

function limitArgument(option: string, value: string | undefined, maximum: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)))
    throw new Error(`--${option} is not a non-negative integer: ${value}`);
  if (Number(value) > maximum) throw new Error(`--${option} is above its maximum of ${maximum}: ${value}`);
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
    const options: Record<LimitName, string> = {
      max_tokens: "max-tokens",
      max_duration_seconds: "max-duration-seconds",
      max_tool_calls: "max-tool-calls",
    };
    const limits: { [name in LimitName]?: number } = {};
    for (const [name, option] of Object.entries(options) as [LimitName, string][]) {
      const value = limitArgument(
        option,
        values[option as keyof typeof values] as string | undefined,
        limitMaximums[name],
      );
      if (value !== undefined) limits[name] = value;
    }
    const { client, tableName } = await tableTarget(
      { table: values.table, region: values.region, stackFile: values["stack-file"] },
      (stack) => stack.tables.limits,
    );
    await putOrganizationLimits(client, tableName, values.org, limits);
    console.log(
      JSON.stringify({
        organization_id: values.org,
        limits: await getOrganizationLimits(client, tableName, values.org),
      }),
    );
    return;
  }
  if (command === "show" && values.org) {
    const { client, tableName } = await tableTarget(
      { table: values.table, region: values.region, stackFile: values["stack-file"] },
      (stack) => stack.tables.limits,
    );
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
