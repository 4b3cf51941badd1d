import type { AuthenticateParams, AuthenticateResult } from "@vulpes/contract/capabilities";
import { PluginError } from "@vulpes/contract/plugin";
import { LruCache } from "./_cache.ts";
import { decide, type KeyRow, parseCredential } from "./_keys.ts";

/** What the authenticator needs: a lookup by digest, a clock, and its cache settings. */
export interface AuthenticatorOptions {
  /** Finds the row of a hex digest; rejects when the database cannot answer. */
  lookup(digest: string): Promise<KeyRow | null>;
  /** Records a use, for the batched `last_used_at` update. */
  markUsed(id: string, at: number): void;
  now(): number;
  prefixes: readonly string[];
  maxEntries: number;
  ttlMs: number;
  negativeTtlMs: number;
  staleIfErrorMs: number;
  /**
   * Whether cache entries may be served while fresh: false while the LISTEN connection is down,
   * since a revocation could go unheard. Default: always.
   */
  cacheTrusted?(): boolean;
  /** Called when a stale entry is served because the lookup failed. */
  onStale?(error: unknown): void;
}

/** The authenticator: `authenticate`, plus the invalidation hooks that NOTIFY drives. */
export interface Authenticator {
  authenticate(params: AuthenticateParams): Promise<AuthenticateResult>;
  invalidate(digest: string): void;
  invalidateAll(): void;
  readonly cacheSize: number;
}

/** Builds the cached authenticator. A lookup that races an invalidation is not cached. */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const cache = new LruCache<KeyRow | null>(options.maxEntries);
  const inflight = new Map<string, Promise<KeyRow | null>>();
  let epoch = 0;

  function fresh(row: KeyRow | null, storedAt: number, now: number): boolean {
    if (options.cacheTrusted && !options.cacheTrusted()) return false;
    return now - storedAt < (row === null ? options.negativeTtlMs : options.ttlMs);
  }

  function load(digest: string): Promise<KeyRow | null> {
    const pending = inflight.get(digest);
    if (pending) return pending;
    const started = epoch;
    const promise = options.lookup(digest).then(function cacheResult(row) {
      if (epoch === started) cache.set(digest, row, options.now());
      return row;
    }).finally(() => inflight.delete(digest));
    inflight.set(digest, promise);
    return promise;
  }

  async function find(digest: string): Promise<KeyRow | null> {
    const now = options.now();
    const entry = cache.get(digest);
    if (entry && fresh(entry.value, entry.storedAt, now)) return entry.value;
    try {
      return await load(digest);
    } catch (error) {
      const staleOk = entry !== undefined && entry.value !== null &&
        now - entry.storedAt < options.ttlMs + options.staleIfErrorMs;
      if (staleOk) {
        options.onStale?.(error);
        return entry.value;
      }
      throw new PluginError(
        "unavailable",
        `Cannot look up API key: the database did not answer: ${messageOf(error)}`,
      );
    }
  }

  return {
    async authenticate(params) {
      const parsed = parseCredential(params.credentials, options.prefixes);
      if (parsed.kind === "abstain") return { decision: "abstain" };
      if (parsed.kind === "deny") return parsed.result;
      const row = await find(parsed.digest);
      const now = options.now();
      const result = decide(row, params, now);
      if (result.decision === "allow" && row) options.markUsed(row.id, now);
      return result;
    },
    invalidate(digest) {
      epoch++;
      cache.delete(digest);
    },
    invalidateAll() {
      epoch++;
      cache.clear();
    },
    get cacheSize() {
      return cache.size;
    },
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
