/**
 * `npm run keys -- create --org ORG` / `npm run keys -- revoke --key-id ID`.
 * Against the running local stack by default (found through .local/stack.json); against a
 * deployed table with `--table NAME --region REGION` (the AWS credential chain applies).
 */
import { parseArgs } from "node:util";
import { issueApiKey, revokeApiKey } from "../../lib/auth/api-key-admin.js";
import { createDynamoDbClient } from "../../lib/aws/clients.js";
import { canonicalTimestamp } from "../../lib/timestamp.js";
import { readStackFile } from "../local/stack-file.js";

const usage = `usage:
  npm run keys -- create --org ORG [--expires-at ISO-8601] [--table NAME --region REGION]
  npm run keys -- revoke --key-id ID [--table NAME --region REGION]
Without --table the command uses the local stack that npm start is running (.local/stack.json).`;

async function target(table: string | undefined, region: string | undefined, stackFile: string | undefined) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const clientOptions = { requestTimeoutMs: 5000, connectionTimeoutMs: 2000, maxAttempts: 3 };
  if (table) {
    return { tableName: table, client: createDynamoDbClient({ ...clientOptions, region }) };
  }
  const stack = await readStackFile(stackFile).catch(() => {
    throw new Error("no local stack found (.local/stack.json): run npm start first, or pass --table and --region");
  });
  process.env.AWS_ACCESS_KEY_ID ??= "local";
  process.env.AWS_SECRET_ACCESS_KEY ??= "local";
  return {
    tableName: stack.tables.api_keys,
    client: createDynamoDbClient({ ...clientOptions, region: stack.region, endpoint: stack.dynamodb_endpoint }),
  };
}

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
    if (expiresAt !== undefined && canonicalExpiry === undefined) throw new Error(`--expires-at is not a date: ${expiresAt}`);
    const { client, tableName } = await target(values.table, values.region, values["stack-file"]);
    const issued = await issueApiKey(client, tableName, {
      organizationId: values.org,
      expiresAt: canonicalExpiry,
    });
    // The key is shown once and never stored; only its hash is in the table.
    console.log(JSON.stringify({ key: issued.key, key_id: issued.keyId, organization_id: issued.organizationId }));
    return;
  }
  if (command === "revoke" && values["key-id"]) {
    const { client, tableName } = await target(values.table, values.region, values["stack-file"]);
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
