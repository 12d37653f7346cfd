import { createDynamoDbClient } from "../../lib/aws/clients.js";
import { localClientOptions } from "../local/emulators.js";
import { readStackFile, type StackFile } from "../local/stack-file.js";

export interface TableTargetOptions {
  readonly table?: string | undefined;
  readonly region?: string | undefined;
  readonly stackFile?: string | undefined;
}

/**
 * The table an operator command works on: a deployed one with `--table NAME --region REGION` (the
 * AWS credential chain applies), or else the running local stack's, found through its stack file.
 */
export async function tableTarget(options: TableTargetOptions, localTable: (stack: StackFile) => string) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  if (options.table) {
    return {
      tableName: options.table,
      client: createDynamoDbClient({ ...localClientOptions, region: options.region }),
    };
  }
  const stack = await readStackFile(options.stackFile).catch(() => {
    throw new Error("no local stack found (.local/stack.json): run npm start first, or pass --table and --region");
  });
  // The emulators accept any credentials; the SDK only needs some to sign with.
  process.env.AWS_ACCESS_KEY_ID ??= "local";
  process.env.AWS_SECRET_ACCESS_KEY ??= "local";
  return {
    tableName: localTable(stack),
    client: createDynamoDbClient({ ...localClientOptions, region: stack.region, endpoint: stack.dynamodb_endpoint }),
  };
}
