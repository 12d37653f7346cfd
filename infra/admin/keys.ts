/**
 * `npm run keys -- create --org ORG` / `npm run keys -- revoke --key-id ID`.
 * Against the running local stack by default (found through .local/stack.json); against a
 * deployed table with `--table NAME --region REGION` (the AWS credential chain applies).
 */
import { parseArgs } from "node:util";
import { issueApiKey, revokeApiKey } from "../../lib/auth/api-key-admin.js";
import { canonicalTimestamp } from "../../lib/timestamp.js";
import { tableTarget } from "./table-target.js";

const usage = `usage:
  npm run keys -- create --org ORG [--expires-at ISO-8601] [--table NAME --region REGION]
  npm run keys -- revoke --key-id ID [--table NAME --region REGION]
Without --table the command uses the local stack that npm start is running (.local/stack.json).`;

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      org: { type: "string" },
      "key-id": { type: "string" },
      "expires-at": { type: "string" },
      table: { type: "string" },
      region: { type: "string" },
      "stack-file": { type: "string" },
    },
  });
  const [command] = positionals;
  if (command === "create" && values.org) {
    const expiresAt = values["expires-at"];
    const canonicalExpiry = canonicalTimestamp(expiresAt);
    if (expiresAt !== undefined && canonicalExpiry === undefined)
      throw new Error(`--expires-at is not a date: ${expiresAt}`);
    const { client, tableName } = await tableTarget(
      { table: values.table, region: values.region, stackFile: values["stack-file"] },
      (stack) => stack.tables.api_keys,
    );
    const issued = await issueApiKey(client, tableName, {
      organizationId: values.org,
      expiresAt: canonicalExpiry,
    });
    // The key is shown once and never stored; only its hash is in the table.
    console.log(JSON.stringify({ key: issued.key, key_id: issued.keyId, organization_id: issued.organizationId }));
    return;
  }
  if (command === "revoke" && values["key-id"]) {
    const { client, tableName } = await tableTarget(
      { table: values.table, region: values.region, stackFile: values["stack-file"] },
      (stack) => stack.tables.api_keys,
    );
    const revoked = await revokeApiKey(client, tableName, values["key-id"]);
    if (revoked === 0) throw new Error(`no key with key_id ${values["key-id"]}`);
    console.log(JSON.stringify({ key_id: values["key-id"], status: "revoked" }));
    return;
  }
  console.error(usage);
  process.exit(2);
}

main().catch((error: unknown) => {
  console.error(`keys: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
