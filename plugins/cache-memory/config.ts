/**
 * The config of cache-memory: the one source of its schema, its `--describe` output and its
 * README table.
 *
 * `max_entry_bytes` has no fixed default: when absent it is a sixteenth of `max_bytes`, filled
 * in by the schema's transform so handlers always get a complete config. The cross-field
 * checks run even when other fields are wrong (`when`), so one `initialize` lists every
 * problem; they therefore read the raw values defensively. zod stops before them when a field
 * is a fraction (its integer check aborts), so that one case takes a second try.
 *
 * @module
 */

import * as z from "zod";

/** Default `max_entry_bytes` is `max_bytes` divided by this: one answer never fills the cache. */
export const ENTRY_FRACTION = 16;

/**
 * The most entries allowed. A V8 `Map` holds at most 2^24 (16,777,216) entries and throws
 * past that, so the limit stays well below it.
 */
export const MAX_ENTRIES_LIMIT = 10_000_000;

const limitsSchema = z.strictObject({
  max_entries: z.int().min(1).max(MAX_ENTRIES_LIMIT).default(10_000).describe(
    "Most entries held, over all namespaces; past it the least recently used entry is evicted",
  ),
  max_bytes: z.int().min(1).default(64 * 1024 * 1024).describe(
    "Most bytes held, over all namespaces, counted as the UTF-8 length of each value's JSON text plus its namespace and key; past it the least recently used entries are evicted",
  ),
  max_entry_bytes: z.int().min(1).optional().describe(
    "Largest entry stored, counted like `max_bytes`; a larger value is not stored (`{stored: false}`). Default: `max_bytes / 16`, rounded down",
  ),
  default_ttl_ms: z.int().min(1).default(300_000).describe(
    "Time to live of an entry when `cache.set` gives no `ttl_ms`",
  ),
  max_ttl_ms: z.int().min(1).default(3_600_000).describe(
    "Longest time to live; a longer `ttl_ms` from `cache.set` is cut to this",
  ),
}).superRefine(function limitsAgree(config, context) {
  const { max_bytes, max_entry_bytes, default_ttl_ms, max_ttl_ms } = config as Record<
    string,
    unknown
  >;
  if (
    typeof max_entry_bytes === "number" && typeof max_bytes === "number" &&
    max_entry_bytes > max_bytes
  ) {
    context.addIssue({
      code: "custom",
      path: ["max_entry_bytes"],
      message:
        `expected at most max_bytes (${max_bytes}), received ${max_entry_bytes}: an entry must fit in the cache`,
    });
  }
  if (
    typeof default_ttl_ms === "number" && typeof max_ttl_ms === "number" &&
    default_ttl_ms > max_ttl_ms
  ) {
    context.addIssue({
      code: "custom",
      path: ["default_ttl_ms"],
      message:
        `expected at most max_ttl_ms (${max_ttl_ms}), received ${default_ttl_ms}: lower default_ttl_ms (default 300000) or raise max_ttl_ms`,
    });
  }
}, { when: ({ value }) => typeof value === "object" && value !== null });

/** Schema of the plugin's config; the parsed config always has `max_entry_bytes`. */
export const configSchema: z.ZodType<Config, z.input<typeof limitsSchema>> = limitsSchema
  .transform(function fillEntryLimit(config): Config {
    return {
      ...config,
      max_entry_bytes: config.max_entry_bytes ??
        Math.max(1, Math.floor(config.max_bytes / ENTRY_FRACTION)),
    };
  });

/** The validated config, with every limit filled in. */
export interface Config {
  /** Most entries held. */
  max_entries: number;
  /** Most bytes held. */
  max_bytes: number;
  /** Largest entry stored. */
  max_entry_bytes: number;
  /** Time to live when `cache.set` gives none. */
  default_ttl_ms: number;
  /** Longest time to live. */
  max_ttl_ms: number;
}
