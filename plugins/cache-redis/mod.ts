/**
 * cache-redis: the cache_provider contract of cache-memory over Redis (standalone, Cluster or
 * Sentinel), shared by every gateway instance: values compressed, TTLs kept by Redis, one key
 * prefix and hash tag per tenant, an entry size limit, and an optional short-lived local tier
 * in front.
 *
 * `initialize` does not wait for Redis: the plugin starts while Redis is down, answers
 * `unavailable` until it connects, and reconnects by itself.
 *
 * @module
 */

import { definePlugin } from "@vulpes/contract/plugin";
import { createBackend } from "./_backend.ts";
import { createCache, type EntryStore } from "./_cache.ts";
import { RedisConnection } from "./_connection.ts";
import { describeNodes, endpointsOf, passwordsOf } from "./_endpoints.ts";
import { LocalTier } from "./_local.ts";
import { type Config, configSchema } from "./config.ts";

/** The plugin definition. */
export const plugin = definePlugin<Config>({
  name: "cache-redis",
  version: "0.1.0",
  description:
    "Answers cached in Redis (standalone, Cluster, Sentinel), shared by every gateway instance: gzip, TTL in Redis, a namespace per tenant, optional local tier",
  capabilities: ["cache_provider"],
  config: configSchema,
  create(config, context) {
    const endpoints = endpointsOf(config);
    const nodes = describeNodes(endpoints);
    const connection = new RedisConnection({
      create: (hooks) =>
        createBackend(endpoints, {
          connectTimeoutMs: config.connect_timeout_ms,
          commandTimeoutMs: config.command_timeout_ms,
          reconnectMaxDelayMs: config.reconnect_max_ms,
          random: context.random,
          ...hooks,
        }),
      logger: context.logger,
      nodes,
      secrets: passwordsOf(endpoints),
      reconnectMaxDelayMs: config.reconnect_max_ms,
      random: context.random,
    });
    const store: EntryStore = {
      get: (key, signal) => connection.run("read the cache", (b) => b.get(key, signal), signal),
      set: (key, value, ttl, signal) =>
        connection.run("store in the cache", (b) => b.set(key, value, ttl, signal), signal),
      delete: (key, signal) =>
        connection.run("delete from the cache", (b) => b.delete(key, signal), signal),
      deleteMatching: (pattern, signal) =>
        connection.run("clear a namespace", (b) => b.deleteMatching(pattern, signal), signal),
    };
    const local = config.local === undefined ? undefined : new LocalTier({
      maxEntries: config.local.max_entries,
      maxBytes: config.local.max_bytes,
      ttlMs: config.local.ttl_ms,
    });
    const cache = createCache({
      store,
      local,
      prefix: config.prefix,
      defaultTtlMs: config.default_ttl_ms,
      maxTtlMs: config.max_ttl_ms,
      maxEntryBytes: config.max_entry_bytes,
      encoding: { compression: config.compression, compressMinBytes: config.compress_min_bytes },
      now: context.now,
      logger: context.logger,
    });
    connection.start();
    return {
      cache_provider: cache.handlers,
      health: async function health() {
        const started = context.now();
        const ping = await connection.run("ping Redis", (b) => b.ping(), undefined, false).then(
          () => undefined,
          (error: Error) => error.message,
        );
        const detail = {
          mode: config.mode,
          nodes,
          redis: { ...connection.status(), ...(ping ? {} : { ping_ms: context.now() - started }) },
          ...cache.counters(),
          local: local?.stats(context.now()) ?? null,
        };
        if (ping !== undefined) {
          return { status: "unavailable", detail: { ...detail, error: ping } };
        }
        return { status: "ok", detail };
      },
      close: () => connection.close(),
    };
  },
});
