/**
 * Put in place of `mnemonist/lru-cache` in the deployed bundles (infra/bundling.ts): the only user
 * is the DynamoDB client's endpoint-discovery cache (`@aws-sdk/endpoint-cache`), which calls
 * `set`, `get`, `peek`, `has` and `clear`. The same least-recently-used eviction on a Map, in a
 * few hundred bytes instead of mnemonist's typed-array implementation and its helpers (about
 * 7 KiB of the stop bundle, docs/performance.md).
 */
export default class LRUCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }

  /** Inserts or refreshes `key` as the most recently used; evicts the least recently used beyond capacity. */
  set(key: K, value: V): this {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    return this;
  }

  /** The value, marking `key` as the most recently used. */
  get(key: K): V | undefined {
    if (!this.entries.has(key)) return undefined;
    const value = this.entries.get(key) as V;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  /** The value, leaving the order as it is. */
  peek(key: K): V | undefined {
    return this.entries.get(key);
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }
}
