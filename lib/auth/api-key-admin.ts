import { randomBytes } from "node:crypto";
import { type DynamoDBClient, PutItemCommand, QueryCommand } from "@aws-sdk/client-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { conditionalUpdate, itemExists } from "../conditional-writes.js";
import { apiKeysTable } from "../resources.js";
import { canonicalTimestamp, formatTimestamp } from "../timestamp.js";
import { hashApiKey, type StoredApiKey } from "./api-keys.js";

/**
 * Issuing and revoking API keys. The key is returned once, to be handed to its owner; only its
 * SHA-256 is stored, so neither the table nor a backup of it can authorize a request.
 */

export interface IssuedApiKey {
  readonly key: string;
  readonly keyId: string;
  readonly organizationId: string;
}

export function generateApiKey(): string {
  return `sk_${randomBytes(32).toString("base64url")}`;
}

export function generateKeyId(): string {
  return `key_${randomBytes(8).toString("hex")}`;
}

export interface StoreApiKeyInput {
  readonly key: string;
  readonly organizationId: string;
  readonly keyId?: string;
  readonly status?: StoredApiKey["status"];
  readonly expiresAt?: string;
  readonly now?: Date;
}

export async function storeApiKey(
  client: DynamoDBClient,
  tableName: string,
  input: StoreApiKeyInput,
): Promise<IssuedApiKey> {
  const keyId = input.keyId ?? generateKeyId();
  const item: StoredApiKey = {
    key_hash: hashApiKey(input.key),
    organization_id: input.organizationId,
    key_id: keyId,
    status: input.status ?? "active",
    expires_at: canonicalTimestamp(input.expiresAt),
    created_at: formatTimestamp(input.now ?? new Date()),
  };
  await client.send(
    new PutItemCommand({ TableName: tableName, Item: marshall(item, { removeUndefinedValues: true }) }),
  );
  return { key: input.key, keyId, organizationId: input.organizationId };
}

export async function issueApiKey(
  client: DynamoDBClient,
  tableName: string,
  input: { organizationId: string; expiresAt?: string },
): Promise<IssuedApiKey> {
  return storeApiKey(client, tableName, { key: generateApiKey(), ...input });
}

/** Revokes every stored key with this key id; returns how many were revoked. */
export async function revokeApiKey(client: DynamoDBClient, tableName: string, keyId: string): Promise<number> {
  const byKeyId = apiKeysTable.globalSecondaryIndexes[0];
  const { Items = [] } = await client.send(
    new QueryCommand({
      TableName: tableName,
      IndexName: byKeyId.indexName,
      KeyConditionExpression: "#key_id = :key_id",
      ExpressionAttributeNames: { "#key_id": byKeyId.partitionKey.name },
      ExpressionAttributeValues: { ":key_id": { S: keyId } },
    }),
  );
  let revoked = 0;
  for (const item of Items) {
    const keyHash = item.key_hash?.S;
    if (!keyHash) continue;
    const { applied } = await conditionalUpdate(client, {
      tableName,
      key: { key_hash: { S: keyHash } },
      // Never resurrect a deleted key as a revoked stub.
      condition: itemExists("key_hash"),
      update: "SET #status = :revoked, revoked_at = :now",
      names: { "#status": "status" },
      values: { ":revoked": { S: "revoked" }, ":now": { S: formatTimestamp(new Date()) } },
    });
    if (applied) revoked += 1;
  }
  return revoked;
}
