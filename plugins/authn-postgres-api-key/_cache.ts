/** An entry of the lookup cache: a row, or null for "no such key". */
export interface CacheEntry<V> {
  value: V;
  /** When the lookup was made (epoch ms). */
  storedAt: number;
}

/**
 * A bounded LRU map. Entries are not dropped when their TTL passes, only when evicted, deleted
 * or cleared, so that a stale positive entry can still serve while the database is down; the
 * caller decides freshness from `storedAt`.
 */
export class LruCache<V> {
  readonly #max: number;
  readonly #map = new Map<string, CacheEntry<V>>();

  constructor(maxEntries: number) {
    this.#max = maxEntries;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: string): CacheEntry<V> | undefined {
    const entry = this.#map.get(key);
    if (entry === undefined) return undefined;
    this.#map.delete(key);
    this.#map.set(key, entry);
    return entry;
  }

  set(key: string, value: V, storedAt: number): void {
    if (this.#max === 0) return;
    this.#map.delete(key);
    this.#map.set(key, { value, storedAt });
    while (this.#map.size > this.#max) {
      this.#map.delete(this.#map.keys().next().value!);
    }
  }

  delete(key: string): void {
    this.#map.delete(key);
  }

  clear(): void {
    this.#map.clear();
  }
}
