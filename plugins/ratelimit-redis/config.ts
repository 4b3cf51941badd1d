/**
 * The config of ratelimit-redis: the one source of its schema, its `--describe` output and its
 * README table. `rules` is ratelimit-memory's schema, imported, so the two plugins read the
 * same rules.
 *
 * @module
 */

import * as z from "zod";
import { secret } from "@vulpes/contract/plugin";
import { rulesSchema } from "../ratelimit-memory/config.ts";

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

const sentinelSchema = z.strictObject({
  master_name: z.string().min(1).describe(
    "Name of the monitored master (`sentinel monitor <name>`)",
  ),
  nodes: z.array(z.string().regex(/^[^\s:/]+:[0-9]{1,5}$/, "expected host:port")).default([])
    .describe(
      "More sentinels as `host:port`, besides the one in `url` (they share its credentials)",
    ),
});

const fallbackSchema = z.strictObject({
  mode: z.enum(["unavailable", "local"]).default("unavailable").describe(
    "While Redis cannot answer: `unavailable` fails each call with a plugin error `unavailable` (the core's `fail_mode` decides); `local` counts in this process instead, with the same rules",
  ),
  share: z.number().gt(0).max(1).default(1).describe(
    "In `local` mode, each limit is multiplied by this (rounded down, at least 1): `1/N` for N gateway processes keeps the total near the shared limit",
  ),
});

/** Schema of the plugin's config. */
export const configSchema = z.strictObject({
  rules: rulesSchema,
  url: secret(
    "`redis://[user:password@]host:port[/db]`, or `rediss://` for TLS, as `${secret:NAME}`; in cluster mode one node to discover the others from; in sentinel mode a sentinel, with the sentinels' credentials",
  ).refine((url) => /^rediss?:\/\//.test(url), "expected a redis:// or rediss:// URL"),
  password: secret(
    "Password of the Redis server or cluster nodes when it is not in `url`; in sentinel mode, of the master and replicas. As `${secret:NAME}`",
  ).optional(),
  mode: z.enum(["standalone", "cluster", "sentinel"]).default("standalone").describe(
    "`standalone`: one server (or a proxy); `cluster`: Redis Cluster; `sentinel`: the master that the sentinels name",
  ),
  sentinel: sentinelSchema.optional().describe("Sentinel mode: which master, and more sentinels"),
  prefix: z.string().min(1).max(100).regex(/^[^{}\s]*$/, "expected no braces and no whitespace")
    .default("vulpes:rl:").describe(
      "Prefix of every key the plugin writes; give each gateway deployment its own",
    ),
  clock: z.enum(["redis", "plugin"]).default("redis").describe(
    "Whose clock places requests in windows: `redis` (the server's `TIME`, one clock for every gateway process) or `plugin` (this process's clock, sent with each call)",
  ),
  tls: tlsSchema.optional().describe("TLS settings for `rediss://` URLs"),
  connect_timeout_ms: z.int().min(1).max(60_000).default(1000).describe(
    "Time allowed to open a connection; `initialize` waits at most this long for the first one",
  ),
  command_timeout_ms: z.int().min(1).max(60_000).default(500).describe(
    "Time allowed for one script call; then the call fails as `unavailable` (or falls back)",
  ),
  reconnect_max_ms: z.int().min(10).max(60_000).default(2000).describe(
    "Longest wait between reconnection attempts (they back off from 50 ms)",
  ),
  fallback: fallbackSchema.default({ mode: "unavailable", share: 1 }).describe(
    "What acquires do while Redis cannot answer",
  ),
  sweep_every: z.number().int().positive().max(1_000_000).default(1000).describe(
    "The local fallback drops its expired windows after this many acquires (as in ratelimit-memory, so its config works here unchanged); Redis expires its own keys",
  ),
}).superRefine(function checkMode(config, context) {
  const { mode, sentinel } = config as Record<string, unknown>;
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
}, { when: ({ value }) => typeof value === "object" && value !== null });

/** The validated config. */
export type Config = z.infer<typeof configSchema>;
