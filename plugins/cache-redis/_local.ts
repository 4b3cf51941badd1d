/**
 * The optional local tier of cache-redis: cache-memory's {@linkcode LruStore}, imported and
 * not copied, holding entries read from or written to Redis for a short time, pure (time comes
 * in as `now`).
 *
 * An entry is kept for `min(ttlMs, expiresAt - now)`: never past its expiry in Redis, and for
 * at most `ttlMs`, which bounds how long this instance may serve a value that another instance
 * has since replaced, deleted or cleared. Each entry's text is stored as
 * `<storedAt> <JSON text>` so that a hit reports the age since the original `cache.set`; the
 * store counts those few more bytes.
 *
 * @module
 */

import { type LruStats, LruStore } from "../cache-memory/_lru.ts";
import type { StoredEntry } from "./_codec.ts";

/** The bounds of the local tier. */
export interface LocalTierOptions {
  /** Most entries held. */
  maxEntries: number;
  /** Most bytes held, as cache-memory counts them; an entry may use a sixteenth. */
  maxBytes: number;
  /** Longest time an entry is served without asking Redis. */
  ttlMs: number;
}

/** An entry found in the local tier. */
export interface LocalHit {
  /** The value's JSON text. */
  text: string;
  /** When it was stored in Redis, by the writer's clock. */
  storedAt: number;
}

/** A short-lived, bounded copy of recently used entries. */
export class LocalTier {
  #store: LruStore;
  #ttlMs: number;

  /** @throws {RangeError} when a bound is not a positive integer. */
  constructor(options: LocalTierOptions) {
    this.#store = new LruStore({
      maxEntries: options.maxEntries,
      maxBytes: options.maxBytes,
      maxEntryBytes: Math.max(1, Math.floor(options.maxBytes / 16)),
    });
    this.#ttlMs = options.ttlMs;
  }

  /** The entry, when this tier holds it and it is younger than its local time to live. */
  get(namespace: string, key: string, now: number): LocalHit | undefined {
    const hit = this.#store.get(namespace, key, now);
    if (hit === undefined) return undefined;
    const space = hit.text.indexOf(" ");
    return { storedAt: Number(hit.text.slice(0, space)), text: hit.text.slice(space + 1) };
  }

  /**
   * Keep an entry just read from or written to Redis. One that has expired (by `expiresAt`)
   * or is too large for the tier is not kept, and any older copy under its key goes.
   */
  set(namespace: string, key: string, entry: StoredEntry, now: number): void {
    const ttl = Math.min(this.#ttlMs, entry.expiresAt - now);
    if (ttl < 1) {
      this.#store.delete(namespace, key, now);
      return;
    }
    this.#store.set(namespace, key, `${entry.storedAt} ${entry.text}`, ttl, now);
  }

  /** Forget one entry. */
  delete(namespace: string, key: string, now: number): void {
    this.#store.delete(namespace, key, now);
  }

  /** Forget every entry of a namespace. */
  clear(namespace: string, now: number): void {
    this.#store.clear(namespace, now);
  }

  /** The store's counters, after dropping expired entries. */
  stats(now: number): LruStats {
    this.#store.sweep(now);
    return this.#store.stats();
  }
}
