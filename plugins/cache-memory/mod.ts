/**
 * cache-memory: a cache provider that keeps answers in the plugin's own memory, one namespace
 * per tenant, with per-entry time to live and least-recently-used eviction within an entry
 * limit and a byte limit.
 *
 * @module
 */

import { definePlugin } from "@vulpes/contract/plugin";
import { LruStore } from "./_lru.ts";
import { type Config, configSchema } from "./config.ts";

/** The plugin definition. */
export const plugin = definePlugin<Config>({
  name: "cache-memory",
  version: "0.1.0",
  description:
    "Answers cached in the plugin's memory: a namespace per tenant, per-entry TTL, least-recently-used eviction within entry and byte limits",
  capabilities: ["cache_provider"],
  config: configSchema,
  create(config, context) {
    const store = new LruStore({
      maxEntries: config.max_entries,
      maxBytes: config.max_bytes,
      maxEntryBytes: config.max_entry_bytes,
    });
    return {
      cache_provider: {
        get: function get(params) {
          const now = context.now();
          const hit = store.get(params.namespace, params.key, now);
          if (hit === undefined) return { hit: false };
          // The entry holds JSON text, so every hit is a fresh copy that no caller can alter.
          return {
            hit: true,
            value: JSON.parse(hit.text),
            age_ms: Math.max(0, now - hit.storedAt),
          };
        },
        set: function set(params) {
          const ttl = Math.min(params.ttl_ms ?? config.default_ttl_ms, config.max_ttl_ms);
          const text = JSON.stringify(params.value);
          return { stored: store.set(params.namespace, params.key, text, ttl, context.now()) };
        },
        delete: function remove(params) {
          return { deleted: store.delete(params.namespace, params.key, context.now()) };
        },
        clear: function clear(params) {
          return { cleared: store.clear(params.namespace, context.now()) };
        },
      },
      health() {
        store.sweep(context.now());
        return { status: "ok", detail: { ...store.stats() } };
      },
    };
  },
});
