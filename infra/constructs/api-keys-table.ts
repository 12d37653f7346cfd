import * as iam from "aws-cdk-lib/aws-iam";
import type { Construct } from "constructs";
import { apiKeysTable } from "../../lib/resources.js";
import type { ServiceFunction } from "./service-function.js";
import { ServiceTable } from "./service-table.js";

export interface ApiKeysTableProps {
  readonly prefix: string;
  readonly retainData: boolean;
  /** How long a function trusts a verified key before reading it again (revocation latency); 60 s when absent. */
  readonly keyCacheTtlSeconds?: number;
}

/** API keys, stored by the SHA-256 of the key; written by the keys command, read by the API. */
export class ApiKeysTable extends ServiceTable {
  private readonly keyCacheTtlSeconds: number;

  constructor(scope: Construct, id: string, props: ApiKeysTableProps) {
    super(scope, id, { prefix: props.prefix, retainData: props.retainData, definition: apiKeysTable });
    this.keyCacheTtlSeconds = props.keyCacheTtlSeconds ?? 60;
  }

  /**
   * Authorizing a request is one GetItem by key hash on the base table; the by-key-id index
   * serves the keys command, not the API, so its ARN stays out of the function's policy.
   */
  grantKeyLookup(fn: ServiceFunction): void {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ["dynamodb:GetItem"], resources: [this.tableArn] }));
    fn.setEnvironment("API_KEYS_TABLE_NAME", this.tableName);
    fn.setEnvironment("API_KEY_CACHE_TTL_SECONDS", String(this.keyCacheTtlSeconds));
  }
}
