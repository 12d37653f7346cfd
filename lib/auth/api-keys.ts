import { createHash } from "node:crypto";
import { type DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import * as z from "zod/mini";
import { storedTimestampSchema, timestampMillis } from "../timestamp.js";

/** Who is calling: the organization a key belongs to, and the key's public id for audit. */
export interface Principal {
  readonly organizationId: string;
  readonly keyId: string;
}

export const apiKeyStatuses = ["active", "revoked"] as const;

/** An api-keys table item. The key itself is never stored, only its SHA-256. */
export const storedApiKeySchema = z.object({
  key_hash: z.string(),
  organization_id: z.string().check(z.minLength(1)),
  key_id: z.string().check(z.minLength(1)),
  status: z.enum(apiKeyStatuses),
  // Written by the platform's services too: any timestamp form they store reads the same (lib/timestamp.ts).
  expires_at: z.nullish(storedTimestampSchema),
  created_at: z.nullish(storedTimestampSchema),
});
export type StoredApiKey = z.infer<typeof storedApiKeySchema>;

export function hashApiKey(apiKey: string): string {
  return createHash("sha256").update(apiKey, "utf8").digest("hex");
}

/** Keys longer than this are rejected before hashing: no real key is this long. */
const MAX_API_KEY_LENGTH = 512;

export interface ApiKeyLookup {
  /** The stored key for a hash, or undefined when there is none. */
  findByHash(keyHash: string): Promise<StoredApiKey | undefined>;
}

export function dynamoApiKeyLookup(client: DynamoDBClient, tableName: string): ApiKeyLookup {
  return {
    async findByHash(keyHash) {
      const { Item } = await client.send(
        new GetItemCommand({ TableName: tableName, Key: { key_hash: { S: keyHash } }, ConsistentRead: false }),
      );
      if (!Item) return undefined;
      const parsed = storedApiKeySchema.safeParse(unmarshall(Item));
      // A malformed key item authorizes nothing; it is not the caller's fault, so it is not an error either.
      return parsed.success ? parsed.data : undefined;
    },
  };
}

export interface ApiKeyAuthorizerOptions {
  readonly lookup: ApiKeyLookup;
  /** How long a resolved key is trusted without re-reading the table (a revocation takes up to this long). */
  readonly cacheTtlMs: number;
  readonly now?: () => number;
}

export type ApiKeyAuthorizer = (presentedKey: string | undefined) => Promise<Principal | undefined>;

/**
 * Resolves a presented key to its principal. Only valid keys are cached: caching misses would
 * let a freshly issued key stay rejected for a whole TTL, and misses are cheap to repeat.
 */
export function createApiKeyAuthorizer({
  lookup,
  cacheTtlMs,
  now = Date.now,
}: ApiKeyAuthorizerOptions): ApiKeyAuthorizer {
  const cache = new Map<string, { principal: Principal; validUntil: number }>();

  return async (presentedKey) => {
    if (!presentedKey || presentedKey.length > MAX_API_KEY_LENGTH) return undefined;
    const keyHash = hashApiKey(presentedKey);
    const currentTime = now();

    const cached = cache.get(keyHash);
    if (cached && cached.validUntil > currentTime) return cached.principal;
    cache.delete(keyHash);

    const stored = await lookup.findByHash(keyHash);
    if (stored?.status !== "active") return undefined;
    const expiresAt = timestampMillis(stored.expires_at) ?? Number.POSITIVE_INFINITY;
    if (expiresAt <= currentTime) return undefined;

    const principal: Principal = { organizationId: stored.organization_id, keyId: stored.key_id };
    cache.set(keyHash, { principal, validUntil: Math.min(currentTime + cacheTtlMs, expiresAt) });
    return principal;
  };
}
