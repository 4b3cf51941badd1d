/**
 * The config of cache-redis: the one source of its schema, its `--describe` output and its
 * README table.
 *
 * The TTL and entry-size fields have the names, meaning and defaults of cache-memory's, so a
 * switch from cache-memory keeps them. The cross-field checks run even when other fields are
 * wrong (`when`), so one `initialize` lists every problem; they therefore read the raw values
 * defensively. Error messages never echo `url` or a password: they are secrets.
 *
 * @module
 */

import * as z from "zod";
import { secret } from "@vulpes/contract/plugin";

/** Modes of the Redis deployment, as node-redis supports them. */
export const MODES = ["standalone", "cluster", "sentinel"] as const;

/**
 * A Redis URL: `redis:` or `rediss:`, a host, and no path or a database number. Never echoes
 * the value (it is a secret).
 */
export function isRedisUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "redis:" || url.protocol === "rediss:") && url.hostname !== "" &&
      /^\/?\d{0,5}$/.test(url.pathname) && url.search === "" && url.hash === "";
  } catch {
    return false;
  }
}

const sentinelSchema = z.strictObject({
  master_name: z.string().min(1).describe(
    "Name of the monitored master (`sentinel monitor <name>`)",
  ),
  nodes: z.array(
    z.string().regex(
      /^(\[[0-9a-fA-F:.]+\]|[^\s:/@\[\]]+):\d{1,5}$/,
      "expected host:port, such as 10.0.0.2:26379 or [::1]:26379",
    ),
  ).default([]).describe(
    "More sentinels as `host:port`, besides the one in `url` (they share its credentials)",
  ),
});

const tlsSchema = z.strictObject({
  ca: z.string().min(1).optional().describe(
    "PEM text of the CA certificate(s) to trust, instead of the system's (the plugin reads no files)",
  ),
  servername: z.string().min(1).optional().describe(
    "Server name sent with SNI and checked against the certificate; default the URL's host",
  ),
  reject_unauthorized: z.boolean().default(true).describe(
    "Refuse a server whose certificate does not verify; turn off only for a test server",
  ),
});

const localSchema = z.strictObject({
  max_entries: z.int().min(1).max(10_000_000).default(1000).describe(
    "Most entries held in the local tier; past it the least recently used entry is evicted",
  ),
  max_bytes: z.int().min(16).default(16 * 1024 * 1024).describe(
    "Most bytes held in the local tier, counted as cache-memory counts them; an entry over a sixteenth of this is read from Redis every time",
  ),
  ttl_ms: z.int().min(1).max(60_000).default(1000).describe(
    "Longest time an entry is served from the local tier without asking Redis: how stale a value changed or deleted by another instance can be",
  ),
});

const fieldsSchema = z.strictObject({
  url: secret(
    "`redis://[user:password@]host:port[/db]`, or `rediss://` for TLS, as `${secret:NAME}`; in cluster mode one node to discover the others from; in sentinel mode a sentinel, with the sentinels' credentials",
  ).refine(
    isRedisUrl,
    "expected a redis:// or rediss:// URL with a host, and at most a database number as its path",
  ),
  username: z.string().min(1).optional().describe(
    "ACL user of the Redis server or cluster nodes when it is not in `url` (this one wins when both are given); in sentinel mode, of the master and replicas",
  ),
  password: secret(
    "Password of the Redis server or cluster nodes when it is not in `url` (this one wins when both are given); in sentinel mode, of the master and replicas. As `${secret:NAME}`",
  ).optional(),
  mode: z.enum(MODES).default("standalone").describe(
    "`standalone`: one server (or a proxy); `cluster`: Redis Cluster; `sentinel`: the master that the sentinels name",
  ),
  sentinel: sentinelSchema.optional().describe("Sentinel mode: which master, and more sentinels"),
  tls: tlsSchema.optional().describe("TLS settings for `rediss://` URLs"),
  prefix: z.string().regex(/^[^{}]*$/, "expected no { or }: they would break the hash tags")
    .max(256).default("vulpes:cache:").describe(
      "Start of every key: `<prefix>{<namespace>}:<key>`",
    ),
  connect_timeout_ms: z.int().min(1).max(60_000).default(2000).describe(
    "Time allowed to open a TCP (and TLS) connection",
  ),
  command_timeout_ms: z.int().min(1).max(60_000).default(500).describe(
    "Longest wait for one Redis answer; past it the call fails as `unavailable` and the connection is kept",
  ),
  reconnect_max_ms: z.int().min(10).max(60_000).default(2000).describe(
    "Longest wait between reconnection attempts (they back off from 50 ms)",
  ),
  default_ttl_ms: z.int().min(1).default(300_000).describe(
    "Time to live of an entry when `cache.set` gives no `ttl_ms`",
  ),
  max_ttl_ms: z.int().min(1).default(3_600_000).describe(
    "Longest time to live; a longer `ttl_ms` from `cache.set` is cut to this",
  ),
  max_entry_bytes: z.int().min(1).max(512 * 1024 * 1024).default(4 * 1024 * 1024).describe(
    "Largest entry stored, counted as the UTF-8 length of the value's JSON text plus its namespace and key (as cache-memory counts); a larger value is not stored (`{stored: false}`)",
  ),
  compression: z.enum(["gzip", "none"]).default("gzip").describe(
    "`gzip` compresses values of at least `compress_min_bytes` (kept only when smaller); `none` stores every value as JSON text",
  ),
  compress_min_bytes: z.int().min(0).default(1024).describe(
    "Smallest JSON text, in bytes, that is compressed",
  ),
  local: localSchema.optional().describe(
    "A bounded in-process tier in front of Redis; absent: off, `{}`: on with the defaults below",
  ),
});

/** Schema of the plugin's config. */
export const configSchema = fieldsSchema.superRefine(function fieldsAgree(config, context) {
  const { mode, sentinel, default_ttl_ms, max_ttl_ms, url, tls } = config as Record<
    string,
    unknown
  >;
  if (mode === "sentinel" && sentinel === undefined) {
    context.addIssue({
      code: "custom",
      path: ["sentinel"],
      message: 'expected "sentinel.master_name" in sentinel mode',
    });
  }
  if (mode !== "sentinel" && sentinel !== undefined) {
    context.addIssue({
      code: "custom",
      path: ["sentinel"],
      message: 'expected no "sentinel" block unless mode is "sentinel"',
    });
  }
  if (tls !== undefined && typeof url === "string" && url.startsWith("redis:")) {
    context.addIssue({
      code: "custom",
      path: ["tls"],
      message: "expected a rediss:// URL with a tls block (redis:// does not use TLS)",
    });
  }
  if (mode === "cluster" && typeof url === "string" && isRedisUrl(url)) {
    const database = new URL(url).pathname.replace(/^\//, "");
    if (database !== "" && database !== "0") {
      context.addIssue({
        code: "custom",
        path: ["url"],
        message: "expected no database number with mode: cluster (Redis Cluster has only db 0)",
      });
    }
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

/** The validated config. */
export type Config = z.infer<typeof fieldsSchema>;

/** The sentinel part of the config. */
export type SentinelConfig = z.infer<typeof sentinelSchema>;

/** The TLS part of the config. */
export type TlsConfig = z.infer<typeof tlsSchema>;

/** The local tier's part of the config. */
export type LocalConfig = z.infer<typeof localSchema>;
