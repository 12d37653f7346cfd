import { describe, expect, it } from "vitest";
import {
  type ApiKeyLookup,
  createApiKeyAuthorizer,
  hashApiKey,
  type StoredApiKey,
} from "../../../lib/auth/api-keys.js";

const KEY = "sk_unit_test_key";

function lookupOf(items: Record<string, Omit<StoredApiKey, "key_hash">>) {
  const lookups: string[] = [];
  const lookup: ApiKeyLookup = {
    findByHash: async (keyHash) => {
      lookups.push(keyHash);
      const entry = Object.entries(items).find(([key]) => hashApiKey(key) === keyHash);
      return entry ? { key_hash: keyHash, ...entry[1] } : undefined;
    },
  };
  return { lookup, lookups };
}

describe("createApiKeyAuthorizer", () => {
  it("looks keys up by their SHA-256, never by the key itself", async () => {
    const { lookup, lookups } = lookupOf({ [KEY]: { organization_id: "org-a", key_id: "key-a", status: "active" } });
    const authorize = createApiKeyAuthorizer({ lookup, cacheTtlMs: 60_000 });

    expect(await authorize(KEY)).toEqual({ organizationId: "org-a", keyId: "key-a" });
    expect(lookups).toEqual([hashApiKey(KEY)]);
    expect(hashApiKey(KEY)).toMatch(/^[0-9a-f]{64}$/);
    expect(lookups).not.toContain(KEY);
  });

  it("serves a warm key from memory until its TTL runs out", async () => {
    let now = 1_000_000;
    const { lookup, lookups } = lookupOf({ [KEY]: { organization_id: "org-a", key_id: "key-a", status: "active" } });
    const authorize = createApiKeyAuthorizer({ lookup, cacheTtlMs: 60_000, now: () => now });

    await authorize(KEY);
    now += 59_999;
    await authorize(KEY);
    expect(lookups).toHaveLength(1);
    now += 1;
    await authorize(KEY);
    expect(lookups).toHaveLength(2);
  });

  it("never trusts a cached key past its own expiry", async () => {
    let now = Date.parse("2026-11-25T12:00:00.000Z");
    const { lookup } = lookupOf({
      [KEY]: { organization_id: "org-a", key_id: "key-a", status: "active", expires_at: "2026-11-25T12:00:10.000Z" },
    });
    const authorize = createApiKeyAuthorizer({ lookup, cacheTtlMs: 60_000, now: () => now });

    expect(await authorize(KEY)).toBeDefined();
    now += 10_000;
    expect(await authorize(KEY)).toBeUndefined();
  });

  it.each([
    ["revoked", { organization_id: "org-a", key_id: "key-a", status: "revoked" as const }],
    [
      "expired",
      { organization_id: "org-a", key_id: "key-a", status: "active" as const, expires_at: "2000-01-01T00:00:00.000Z" },
    ],
  ])("rejects a %s key", async (_, item) => {
    const { lookup } = lookupOf({ [KEY]: item });
    expect(await createApiKeyAuthorizer({ lookup, cacheTtlMs: 60_000 })(KEY)).toBeUndefined();
  });

  it("does not cache a miss, so a key issued a moment later works at once", async () => {
    const items: Record<string, Omit<StoredApiKey, "key_hash">> = {};
    const { lookup } = lookupOf(items);
    const authorize = createApiKeyAuthorizer({ lookup, cacheTtlMs: 60_000 });
    expect(await authorize(KEY)).toBeUndefined();
    items[KEY] = { organization_id: "org-a", key_id: "key-a", status: "active" };
    expect(await authorize(KEY)).toBeDefined();
  });

  it.each([undefined, "", "x".repeat(513)])(
    "spends no lookup on a missing, empty or oversized key (%#)",
    async (key) => {
      const { lookup, lookups } = lookupOf({});
      expect(await createApiKeyAuthorizer({ lookup, cacheTtlMs: 60_000 })(key)).toBeUndefined();
      expect(lookups).toEqual([]);
    },
  );
});
