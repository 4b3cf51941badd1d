/**
 * The pure store of cache-memory: entries in namespaces, bounded by count and bytes, evicted
 * least recently used first, each with its own expiry. Time comes in as an argument (`now`,
 * epoch milliseconds), so tests step a clock instead of waiting, and nothing here starts a
 * timer.
 *
 * A `Map` keeps recency: it iterates in insertion order, so a hit deletes and re-inserts its
 * entry (now the newest) and eviction takes the first entry (the oldest). get, set and delete
 * are O(1); clear is O(entries of the namespace); a sweep is O(entries) and runs at most once
 * every `max(SWEEP_EVERY, entries)` sets, so it costs O(1) a set on average.
 *
 * @module
 */

/** The bounds of a store. */
export interface LruLimits {
  /** Most entries held, at least 1. */
  maxEntries: number;
  /** Most bytes held (see {@linkcode entrySize}), at least `maxEntryBytes`. */
  maxBytes: number;
  /** Largest entry stored, at least 1. */
  maxEntryBytes: number;
}

/** Counters and sizes of a store, as `health` reports them. */
export interface LruStats {
  /** Entries held (expired ones not yet dropped included). */
  entries: number;
  /** Bytes held, by {@linkcode entrySize}. */
  bytes: number;
  /** Namespaces with at least one entry. */
  namespaces: number;
  /** Gets that found a live entry. */
  hits: number;
  /** Gets that found nothing, or an expired entry. */
  misses: number;
  /** Live entries dropped to make room. */
  evictions: number;
  /** Expired entries dropped (on get, delete, clear, a sweep, or when they were next to go). */
  expirations: number;
  /** Sets refused because the entry was larger than `maxEntryBytes`. */
  too_large: number;
}

/** A live entry found by {@linkcode LruStore.get}. */
export interface LruHit {
  /** The stored text, as given to `set`. */
  text: string;
  /** When it was stored. */
  storedAt: number;
}

interface Entry {
  namespace: string;
  key: string;
  text: string;
  bytes: number;
  storedAt: number;
  expiresAt: number;
}

/** A sweep for expired entries runs at most once every this many sets (or entries, if more). */
export const SWEEP_EVERY = 1024;

/**
 * The map key of an entry. The namespace's length comes first, so the split between namespace
 * and key is never ambiguous: `("a:b", "c")` gives `3:a:b:c` and `("a", "b:c")` gives `1:a:b:c`.
 */
export function entryKey(namespace: string, key: string): string {
  return `${namespace.length}:${namespace}:${key}`;
}

const encoder = new TextEncoder();
/** Texts up to this many UTF-16 units are measured by encoding into a reused buffer. */
const SCRATCH_UNITS = 65_536;
const scratch = new Uint8Array(SCRATCH_UNITS * 3);

/**
 * The UTF-8 length of a string, as `TextEncoder` writes it (a lone surrogate as U+FFFD, 3
 * bytes). Short texts are encoded into a reused buffer (the fastest way in V8, about ten times
 * a loop over char codes); longer ones are counted, so no buffer grows with the largest value.
 */
export function utf8Length(text: string): number {
  if (text.length <= SCRATCH_UNITS) return encoder.encodeInto(text, scratch).written;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** The size an entry counts for: the UTF-8 length of its text, namespace and key. */
export function entrySize(namespace: string, key: string, text: string): number {
  return utf8Length(text) + utf8Length(namespace) + utf8Length(key);
}

/** A bounded, namespaced, least-recently-used store of texts with per-entry expiry. */
export class LruStore {
  #limits: LruLimits;
  #entries = new Map<string, Entry>();
  #namespaces = new Map<string, Set<string>>();
  #bytes = 0;
  #setsSinceSweep = 0;
  #counters = { hits: 0, misses: 0, evictions: 0, expirations: 0, too_large: 0 };

  /** @throws {RangeError} when a limit is not a positive integer or an entry cannot fit. */
  constructor(limits: LruLimits) {
    for (const [name, value] of Object.entries(limits)) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new RangeError(`Cannot create the store: "${name}" must be a positive integer`);
      }
    }
    if (limits.maxEntryBytes > limits.maxBytes) {
      throw new RangeError("Cannot create the store: maxEntryBytes must not exceed maxBytes");
    }
    this.#limits = { ...limits };
  }

  /** The live entry under `namespace` and `key`, now the most recently used; or undefined. */
  get(namespace: string, key: string, now: number): LruHit | undefined {
    const id = entryKey(namespace, key);
    const entry = this.#entries.get(id);
    if (entry === undefined || this.#dropIfExpired(id, entry, now)) {
      this.#counters.misses++;
      return undefined;
    }
    this.#entries.delete(id);
    this.#entries.set(id, entry);
    this.#counters.hits++;
    return { text: entry.text, storedAt: entry.storedAt };
  }

  /**
   * Store `text` for `ttlMs` from `now`, replacing any entry under the same key, and evict the
   * least recently used entries until the limits hold. Returns false, and removes the entry
   * the key had, when the new one is larger than `maxEntryBytes`: after a set, a get finds
   * that value or nothing, never an older one.
   */
  set(namespace: string, key: string, text: string, ttlMs: number, now: number): boolean {
    const id = entryKey(namespace, key);
    const old = this.#entries.get(id);
    if (old !== undefined) this.#remove(id, old);
    const bytes = entrySize(namespace, key, text);
    if (bytes > this.#limits.maxEntryBytes) {
      this.#counters.too_large++;
      return false;
    }
    if (++this.#setsSinceSweep >= Math.max(SWEEP_EVERY, this.#entries.size)) this.sweep(now);
    this.#entries.set(id, { namespace, key, text, bytes, storedAt: now, expiresAt: now + ttlMs });
    this.#bytes += bytes;
    this.#indexOf(namespace).add(id);
    this.#evictOverflow(now);
    return true;
  }

  /** Remove one entry; true when it was live. */
  delete(namespace: string, key: string, now: number): boolean {
    const id = entryKey(namespace, key);
    const entry = this.#entries.get(id);
    if (entry === undefined || this.#dropIfExpired(id, entry, now)) return false;
    this.#remove(id, entry);
    return true;
  }

  /** Remove every entry of a namespace; returns how many were live. */
  clear(namespace: string, now: number): number {
    const ids = this.#namespaces.get(namespace);
    if (ids === undefined) return 0;
    let live = 0;
    for (const id of [...ids]) {
      const entry = this.#entries.get(id)!;
      if (!this.#dropIfExpired(id, entry, now)) {
        this.#remove(id, entry);
        live++;
      }
    }
    return live;
  }

  /** Drop every expired entry; returns how many. */
  sweep(now: number): number {
    this.#setsSinceSweep = 0;
    let dropped = 0;
    for (const [id, entry] of this.#entries) {
      if (this.#dropIfExpired(id, entry, now)) dropped++;
    }
    return dropped;
  }

  /** The counters and sizes. */
  stats(): LruStats {
    return {
      entries: this.#entries.size,
      bytes: this.#bytes,
      namespaces: this.#namespaces.size,
      ...this.#counters,
    };
  }

  /** `[namespace, key, expiresAt]` of every entry, least recently used first (for tests). */
  *keys(): IterableIterator<[string, string, number]> {
    for (const entry of this.#entries.values()) {
      yield [entry.namespace, entry.key, entry.expiresAt];
    }
  }

  #evictOverflow(now: number): void {
    while (
      this.#entries.size > this.#limits.maxEntries || this.#bytes > this.#limits.maxBytes
    ) {
      const [id, entry] = this.#entries.entries().next().value!;
      if (now >= entry.expiresAt) this.#counters.expirations++;
      else this.#counters.evictions++;
      this.#remove(id, entry);
    }
  }

  #dropIfExpired(id: string, entry: Entry, now: number): boolean {
    if (now < entry.expiresAt) return false;
    this.#remove(id, entry);
    this.#counters.expirations++;
    return true;
  }

  #remove(id: string, entry: Entry): void {
    this.#entries.delete(id);
    this.#bytes -= entry.bytes;
    const ids = this.#namespaces.get(entry.namespace)!;
    ids.delete(id);
    if (ids.size === 0) this.#namespaces.delete(entry.namespace);
  }

  #indexOf(namespace: string): Set<string> {
    let ids = this.#namespaces.get(namespace);
    if (ids === undefined) {
      ids = new Set();
      this.#namespaces.set(namespace, ids);
    }
    return ids;
  }
}
