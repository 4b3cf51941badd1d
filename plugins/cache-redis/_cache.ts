/**
 * The cache_provider handlers of cache-redis over any {@linkcode EntryStore}, so the logic is
 * tested with an in-memory store and run with Redis. The answers are cache-memory's: the same
 * TTL rules, the same entry size count and `{stored: false}` for a value over
 * `max_entry_bytes` (removing what the key held), the same `{deleted}` and `{cleared}`.
 *
 * A store failure is thrown on (the connection throws `unavailable` plugin errors). A value
 * that cannot be decoded is a miss, counted as `corrupt` and logged without key or value; it
 * is left in Redis (a newer version may have written it) until a set replaces it or it
 * expires.
 *
 * @module
 */

import type { CacheProviderHandlers } from "@vulpes/contract/capabilities";
import type { Logger } from "@vulpes/contract/plugin";
import { entrySize } from "../cache-memory/_lru.ts";
import { CorruptEntryError, decodeEntry, encodeEntry, type EncodeOptions } from "./_codec.ts";
import { namespacePattern, redisKey } from "./_keys.ts";
import type { LocalTier } from "./_local.ts";

/** Where entries are kept: Redis through the connection, or a fake in tests. */
export interface EntryStore {
  /** The bytes under `key`, or null. */
  get(key: string, signal?: AbortSignal): Promise<Uint8Array | null>;
  /** Store `value` under `key` for `ttlMs`. */
  set(key: string, value: Uint8Array, ttlMs: number, signal?: AbortSignal): Promise<void>;
  /** Remove `key`; true when it existed. */
  delete(key: string, signal?: AbortSignal): Promise<boolean>;
  /** Remove every key matching a `SCAN` pattern; how many. */
  deleteMatching(pattern: string, signal?: AbortSignal): Promise<number>;
}

/** What the handlers need. */
export interface CacheOptions {
  /** The shared store. */
  store: EntryStore;
  /** The local tier, when configured. */
  local?: LocalTier | undefined;
  /** Start of every key. */
  prefix: string;
  /** TTL when `cache.set` gives none. */
  defaultTtlMs: number;
  /** Longest TTL. */
  maxTtlMs: number;
  /** Largest entry, counted as cache-memory counts. */
  maxEntryBytes: number;
  /** Compression of values. */
  encoding: EncodeOptions;
  /** Epoch milliseconds. */
  now: () => number;
  /** Where corrupt entries are reported. */
  logger: Logger;
}

/** Counters since the start, for `health`. */
export interface CacheCounters {
  /** Gets answered with a value (from Redis or the local tier). */
  hits: number;
  /** Of those, answered by the local tier. */
  local_hits: number;
  /** Gets answered `{hit: false}` (corrupt entries included). */
  misses: number;
  /** Sets that stored. */
  stores: number;
  /** Sets refused for `max_entry_bytes`. */
  too_large: number;
  /** Values that could not be decoded (served as misses). */
  corrupt: number;
}

/** Every cache_provider handler, each returning a promise. */
export type CacheHandlers = {
  [M in keyof CacheProviderHandlers]-?: NonNullable<CacheProviderHandlers[M]> extends
    (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

/** The handlers, and their counters. */
export function createCache(options: CacheOptions): {
  handlers: CacheHandlers;
  counters: () => CacheCounters;
} {
  const { store, local, prefix, now } = options;
  const counters: CacheCounters = {
    hits: 0,
    local_hits: 0,
    misses: 0,
    stores: 0,
    too_large: 0,
    corrupt: 0,
  };
  const miss = () => {
    counters.misses++;
    return { hit: false as const };
  };
  const handlers: CacheHandlers = {
    get: async function get({ namespace, key }, call) {
      const cached = local?.get(namespace, key, now());
      if (cached !== undefined) {
        counters.hits++;
        counters.local_hits++;
        return { hit: true, value: JSON.parse(cached.text), age_ms: age(cached.storedAt, now()) };
      }
      const bytes = await store.get(redisKey(prefix, namespace, key), call.signal);
      if (bytes === null) return miss();
      let value: unknown;
      let entry;
      try {
        entry = decodeEntry(bytes, options.maxEntryBytes);
        value = JSON.parse(entry.text);
      } catch (error) {
        counters.corrupt++;
        const why = error instanceof CorruptEntryError ? error.message : "its text is not JSON";
        options.logger.warn("ignored a cache entry that cannot be decoded", { why });
        return miss();
      }
      const at = now();
      local?.set(namespace, key, entry, at);
      counters.hits++;
      return { hit: true, value, age_ms: age(entry.storedAt, at) };
    },
    set: async function set({ namespace, key, value, ttl_ms }, call) {
      const ttl = Math.min(ttl_ms ?? options.defaultTtlMs, options.maxTtlMs);
      const text = JSON.stringify(value);
      const id = redisKey(prefix, namespace, key);
      const at = now();
      local?.delete(namespace, key, at);
      if (entrySize(namespace, key, text) > options.maxEntryBytes) {
        counters.too_large++;
        // After a set, a get finds that value or nothing, never an older one.
        await store.delete(id, call.signal);
        return { stored: false };
      }
      const entry = { text, storedAt: at, expiresAt: at + ttl };
      await store.set(id, encodeEntry(entry, options.encoding), ttl, call.signal);
      local?.set(namespace, key, entry, at);
      counters.stores++;
      return { stored: true };
    },
    delete: async function remove({ namespace, key }, call) {
      local?.delete(namespace, key, now());
      return { deleted: await store.delete(redisKey(prefix, namespace, key), call.signal) };
    },
    clear: async function clear({ namespace }, call) {
      local?.clear(namespace, now());
      return {
        cleared: await store.deleteMatching(namespacePattern(prefix, namespace), call.signal),
      };
    },
  };
  return { handlers, counters: () => ({ ...counters }) };
}

function age(storedAt: number, now: number): number {
  return Math.max(0, now - storedAt);
}
