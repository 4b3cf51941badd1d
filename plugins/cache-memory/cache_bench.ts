/**
 * Benchmarks of cache-memory: get and set per second in-process (the store, and the handlers
 * of mod.ts) and across the stdio hop (bin/cache-memory through the host client). Values are
 * chat completions of about 1 KB. Run with `make bench` (it builds bin/ first).
 */

import { cacheProviderClient, PluginProcess } from "@vulpes/contract/host";
import type { CacheProviderHandlers } from "@vulpes/contract/capabilities";
import { createTestCall, createTestContext } from "@vulpes/contract/testing";
import { pluginBinary } from "../../tests/_support.ts";
import { KEYS, keys, values } from "./_bench_answers.ts";
import { LruStore } from "./_lru.ts";
import { configSchema } from "./config.ts";
import { plugin } from "./mod.ts";

const texts = values.map((value) => JSON.stringify(value));
const NOW = Date.parse("2026-01-01T00:00:00Z");

const store = new LruStore({ maxEntries: 10_000, maxBytes: 64 << 20, maxEntryBytes: 4 << 20 });
keys.forEach((key, i) => store.set("acme", key, texts[i]!, 300_000, NOW));

let storeCursor = 0;
Deno.bench("LruStore.get() hit", { group: "store" }, () => {
  store.get("acme", keys[storeCursor++ % KEYS]!, NOW);
});
Deno.bench("LruStore.get() miss", { group: "store" }, () => {
  store.get("other", keys[storeCursor++ % KEYS]!, NOW);
});
Deno.bench("LruStore.set() 1 KB text", { group: "store" }, () => {
  const i = storeCursor++ % KEYS;
  store.set("acme", keys[i]!, texts[i]!, 300_000, NOW);
});

const call = createTestCall();
let handlers: Promise<CacheProviderHandlers> | undefined;
async function inProcess(): Promise<CacheProviderHandlers> {
  handlers ??= Promise.resolve(plugin.create(configSchema.parse({}), createTestContext()))
    .then(async (instance) => {
      const cache = instance.cache_provider!;
      for (const [i, key] of keys.entries()) {
        await cache.set({ namespace: "acme", key, value: values[i] }, call);
      }
      return cache;
    });
  return await handlers;
}

let handlerCursor = 0;
Deno.bench("cache.get hit (handler: JSON.parse of 1 KB)", { group: "handler" }, async () => {
  const cache = await inProcess();
  await cache.get({ namespace: "acme", key: keys[handlerCursor++ % KEYS]! }, call);
});
Deno.bench("cache.get miss (handler)", { group: "handler" }, async () => {
  const cache = await inProcess();
  await cache.get({ namespace: "other", key: keys[handlerCursor++ % KEYS]! }, call);
});
Deno.bench("cache.set 1 KB (handler: JSON.stringify)", { group: "handler" }, async () => {
  const cache = await inProcess();
  const i = handlerCursor++ % KEYS;
  await cache.set({ namespace: "acme", key: keys[i]!, value: values[i] }, call);
});

// The process is started once, on first use, outside the measured calls; when the benchmarks
// are done, `beforeunload` shuts it down (the runtime waits for that), so `deno bench` exits
// with the plugin stopped by `shutdown`, not left to notice the end of its input.
let process: Promise<PluginProcess> | undefined;
let hopCursor = 0;
async function hop(): Promise<ReturnType<typeof cacheProviderClient>> {
  process ??= PluginProcess.start({
    command: pluginBinary("cache-memory"),
    instance: "bench",
    capabilities: ["cache_provider"],
    config: {},
    onLog: () => {},
    restart: false,
  }).then(async (started) => {
    const client = cacheProviderClient(started);
    for (const [i, key] of keys.entries()) {
      await client.set({ namespace: "acme", key, value: values[i] });
    }
    return started;
  });
  return cacheProviderClient(await process);
}

globalThis.addEventListener("beforeunload", function stopPlugin() {
  const running = process;
  process = undefined;
  running?.then((started) => started.shutdown());
});

Deno.bench("cache.get hit across stdio", { group: "stdio" }, async () => {
  const client = await hop();
  await client.get({ namespace: "acme", key: keys[hopCursor++ % KEYS]! });
});
Deno.bench("cache.get miss across stdio", { group: "stdio" }, async () => {
  const client = await hop();
  await client.get({ namespace: "other", key: keys[hopCursor++ % KEYS]! });
});
Deno.bench("cache.set 1 KB across stdio", { group: "stdio" }, async () => {
  const client = await hop();
  const i = hopCursor++ % KEYS;
  await client.set({ namespace: "acme", key: keys[i]!, value: values[i] });
});
