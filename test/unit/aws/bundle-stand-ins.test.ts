import { Md5 as SdkMd5, Sha256 as SdkSha256 } from "@smithy/core/checksum";
import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import LRUCache from "../../../lib/aws/bundle/lru-cache.js";
import {
  EventStreamSerde,
  eventStreamSerdeProvider,
  resolveEventStreamSerdeConfig,
} from "../../../lib/aws/bundle/no-event-streams.js";
import { Md5, Sha256 } from "../../../lib/aws/bundle/node-checksums.js";

/** The modules infra/bundling.ts puts in place of SDK ones in the deployed bundles behave as the ones they replace. */

type CacheOperation =
  | { op: "set"; key: number; value: number }
  | { op: "get" | "peek" | "has"; key: number }
  | { op: "clear" };

const operations = fc.array(
  fc.oneof(
    fc.record({ op: fc.constant("set" as const), key: fc.nat(6), value: fc.nat() }),
    fc.record({ op: fc.constantFrom("get" as const, "peek" as const, "has" as const), key: fc.nat(6) }),
    fc.record({ op: fc.constant("clear" as const) }),
  ),
  { maxLength: 60 },
);

/** Least recently used first: the model of an LRU cache the stand-in is held to. */
class ModelLRUCache {
  private entries: [number, number][] = [];

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.entries.length;
  }

  set(key: number, value: number): void {
    const entry: [number, number] = [key, value];
    this.entries = [...this.entries.filter(([other]) => other !== key), entry].slice(-this.capacity);
  }

  get(key: number): number | undefined {
    const found = this.entries.find(([entry]) => entry === key);
    if (found) this.entries = [...this.entries.filter(([entry]) => entry !== key), found];
    return found?.[1];
  }

  peek(key: number): number | undefined {
    return this.entries.find(([entry]) => entry === key)?.[1];
  }

  has(key: number): boolean {
    return this.entries.some(([entry]) => entry === key);
  }

  clear(): void {
    this.entries = [];
  }
}

describe("the LRU cache in place of mnemonist's", () => {
  it("keeps the most recently used entries within its capacity, for every sequence of the endpoint cache's calls", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), operations, (capacity, sequence: CacheOperation[]) => {
        const ours = new LRUCache<number, number>(capacity);
        const theirs = new ModelLRUCache(capacity);
        for (const step of sequence) {
          if (step.op === "set") {
            ours.set(step.key, step.value);
            theirs.set(step.key, step.value);
          } else if (step.op === "clear") {
            ours.clear();
            theirs.clear();
          } else {
            expect(ours[step.op](step.key)).toEqual(theirs[step.op](step.key));
          }
          expect(ours.size).toBe(theirs.size);
        }
      }),
      { numRuns: 300 },
    );
  });
});

const digest = async (hash: { update(data: Uint8Array): void; digest(): Promise<Uint8Array> }, data: Uint8Array[]) => {
  for (const chunk of data) hash.update(chunk);
  return Buffer.from(await hash.digest()).toString("hex");
};

describe("the checksums in place of @smithy/core/checksum", () => {
  const chunks = fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 4 });

  it("give the SDK's SHA-256 digests and HMACs", async () => {
    await fc.assert(
      fc.asyncProperty(chunks, fc.option(fc.string({ minLength: 1 }), { nil: undefined }), async (data, secret) => {
        expect(await digest(new Sha256(secret), data)).toBe(await digest(new SdkSha256(secret), data));
      }),
    );
  });

  it("give the SDK's MD5 digests (SQS's message checksums)", async () => {
    await fc.assert(
      fc.asyncProperty(chunks, async (data) => {
        expect(await digest(new Md5(), data)).toBe(await digest(new SdkMd5(), data));
      }),
    );
  });

  it("refuse an update after an HMAC's digest, as the SDK's do", async () => {
    const hmac = new Sha256("secret");
    await hmac.digest();
    expect(() => hmac.update(new Uint8Array([1]))).toThrow("Attempted to update an already finished hash.");
  });
});

describe("the event-stream stand-in", () => {
  it("lets a client with streaming operations be built, and fails any event stream loudly", () => {
    const config = resolveEventStreamSerdeConfig({ eventStreamSerdeProvider });

    expect(() => config.eventStreamMarshaller.serialize()).toThrow(/event streams are left out/);
    expect(() => config.eventStreamMarshaller.deserialize()).toThrow(/event streams are left out/);
    expect(() => new EventStreamSerde()).toThrow(/event streams are left out/);
  });
});
