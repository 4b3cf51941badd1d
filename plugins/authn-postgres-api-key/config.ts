/**
 * The config of authn-postgres-api-key: the one source of its schema, its `--describe`
 * output and its README table.
 *
 * @module
 */

import * as z from "zod";
import { secret } from "@vulpes/contract/plugin";

const identifier = z.string().regex(
  /^[a-z_][a-z0-9_]{0,29}$/,
  "expected a lower-case SQL identifier of at most 30 characters (letters, digits, _)",
);

/** Schema of the plugin's config. */
export const configSchema = z.strictObject({
  database_url: secret(
    "PostgreSQL URL (`postgres://user:password@host:port/db`), as `${secret:NAME}`",
  ),
  schema: identifier.default("vulpes").describe("Schema that holds the keys table"),
  table: identifier.default("api_keys").describe(
    "Name of the keys table; its migrations table is `<table>_migrations`",
  ),
  auto_migrate: z.boolean().default(false).describe(
    "Apply the shipped SQL migrations at `initialize` (under an advisory lock)",
  ),
  prefixes: z.array(z.string()).min(1).default(["sk-"]).describe(
    'Credentials that start with none of these are not this plugin\'s: it abstains. `[""]` claims every credential',
  ),
  pool_size: z.int().min(1).max(100).default(10).describe("Most connections in the pool"),
  connect_timeout_ms: z.int().min(1).default(2000).describe(
    "Time allowed to open a connection",
  ),
  statement_timeout_ms: z.int().min(1).default(1000).describe(
    "`statement_timeout` of every lookup (server side) and the client's query timeout",
  ),
  cache_max_entries: z.int().min(0).default(10000).describe(
    "Size of the LRU cache of lookups (positive and negative); 0 turns caching off",
  ),
  cache_ttl_ms: z.int().min(0).default(60000).describe(
    "How long a found key is served from cache; NOTIFY drops entries sooner, this bounds staleness if a notification is lost",
  ),
  negative_cache_ttl_ms: z.int().min(0).default(5000).describe(
    "How long an unknown digest is remembered as unknown",
  ),
  stale_if_error_ms: z.int().min(0).default(0).describe(
    "While the database is unreachable, a found key whose cache entry expired at most this long ago is still served",
  ),
  last_used_flush_ms: z.int().min(100).default(10000).describe(
    "Interval of the batched `last_used_at` update (also flushed at shutdown)",
  ),
});

/** The validated config. */
export type Config = z.infer<typeof configSchema>;
