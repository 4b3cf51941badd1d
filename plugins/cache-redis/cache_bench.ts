/**
 * Benchmarks of cache-redis: the value format (gzip or plain, and node:zlib against
 * `CompressionStream`), the handlers of mod.ts against a real Redis started here (with and
 * without the local tier), and bin/cache-redis across the stdio hop. Values are the chat
 * completions of cache-memory's benchmarks (882 bytes of JSON; 14 KB for sixteen of them). Run with `make bench` (it
 * builds bin/ first) or `deno bench -A plugins/cache-redis/cache_bench.ts`.
 *
 * @module
 */

import { gzipSync } from "node:zlib";
import { createClient } from "redis";
import { cacheProviderClient, PluginProcess } from "@vulpes/contract/host";
import type { CacheProviderHandlers } from "@vulpes/contract/capabilities";
import {
  createTestCall,
  createTestContext,
  startRedis,
  type TestRedis,
} from "@vulpes/contract/testing";
import { pluginBinary } from "../../tests/_support.ts";
import { KEYS, keys, values } from "../cache-memory/_bench_answers.ts";
import { decodeEntry, encodeEntry } from "./_codec.ts";
import { configSchema } from "./config.ts";
import { plugin } from "./mod.ts";

const NOW = Date.parse("2026-01-01T00:00:00Z");
const text = JSON.stringify(values[0]);
const large = JSON.stringify(Array.from({ length: 16 }, (_, i) => values[i]));
const entry = { text, storedAt: NOW, expiresAt: NOW + 300_000 };
const largeEntry = { ...entry, text: large };
// The completion's JSON is 882 bytes, under the default compress_min_bytes (1024): the gzip
// benchmarks compress from 0 bytes on, to show what compression costs at this size.
const GZIP = { compression: "gzip", compressMinBytes: 0 } as const;
const PLAIN = { compression: "none", compressMinBytes: 0 } as const;
const gzipped = encodeEntry(entry, GZIP);
const plain = encodeEntry(entry, PLAIN);
const largeGzipped = encodeEntry(largeEntry, GZIP);
const raw = new TextEncoder().encode(text);

Deno.bench("encode 0.9 KB, gzip", { group: "format" }, () => {
  encodeEntry(entry, GZIP);
});
Deno.bench("decode 0.9 KB, gzip", { group: "format" }, () => {
  decodeEntry(gzipped, 1 << 22);
});
Deno.bench("encode 0.9 KB, plain", { group: "format" }, () => {
  encodeEntry(entry, PLAIN);
});
Deno.bench("decode 0.9 KB, plain", { group: "format" }, () => {
  decodeEntry(plain, 1 << 22);
});
Deno.bench("encode 14 KB, gzip", { group: "format" }, () => {
  encodeEntry(largeEntry, GZIP);
});
Deno.bench("decode 14 KB, gzip", { group: "format" }, () => {
  decodeEntry(largeGzipped, 1 << 22);
});
Deno.bench("gzip 0.9 KB, node:zlib gzipSync", { group: "gzip" }, () => {
  gzipSync(raw);
});
Deno.bench("gzip 0.9 KB, CompressionStream", { group: "gzip" }, async () => {
  await new Response(new Blob([raw]).stream().pipeThrough(new CompressionStream("gzip")))
    .arrayBuffer();
});

// One Redis for the rest, started on first use, outside the measured calls. `deno bench` ends
// the process after the last benchmark without waiting for work started in `beforeunload`, so
// the cleanup is synchronous, in `unload`: it kills the server and the plugin process and
// removes the server's temp dir (found with `CONFIG GET dir`, as TestRedis does not give it).
const atExit: (() => void)[] = [];
globalThis.addEventListener("unload", function cleanUp() {
  for (const step of atExit.splice(0)) {
    try {
      step();
    } catch { /* already gone */ }
  }
});

let redis: Promise<TestRedis> | undefined;
function server(): Promise<TestRedis> {
  redis ??= startRedis().then(async (started) => {
    const client = createClient({ url: started.url });
    await client.connect();
    const dir = (await client.configGet("dir")).dir!;
    const pid = Number(/process_id:(\d+)/.exec(await client.info("server"))![1]);
    await client.close();
    atExit.push(() => Deno.kill(pid, "SIGKILL"), () => Deno.removeSync(dir, { recursive: true }));
    return started;
  });
  return redis;
}

const call = createTestCall();
const handlers = new Map<string, Promise<CacheProviderHandlers>>();
function inProcess(name: string, config: Record<string, unknown>): Promise<CacheProviderHandlers> {
  let ready = handlers.get(name);
  if (ready === undefined) {
    ready = (async () => {
      const { url } = await server();
      const instance = await plugin.create(
        configSchema.parse({ url, ...config }),
        { ...createTestContext(), now: Date.now },
      );
      while ((await instance.health!()).status !== "ok") {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const cache = instance.cache_provider!;
      for (const [i, key] of keys.entries()) {
        await cache.set({ namespace: "acme", key, value: values[i] }, call);
      }
      return cache;
    })();
    handlers.set(name, ready);
  }
  return ready;
}

let cursor = 0;
Deno.bench("cache.get hit (handler → Redis)", { group: "handler" }, async () => {
  const cache = await inProcess("plain", {});
  await cache.get({ namespace: "acme", key: keys[cursor++ % KEYS]! }, call);
});
Deno.bench("cache.get miss (handler → Redis)", { group: "handler" }, async () => {
  const cache = await inProcess("plain", {});
  await cache.get({ namespace: "other", key: keys[cursor++ % KEYS]! }, call);
});
Deno.bench("cache.set 0.9 KB (handler → Redis)", { group: "handler" }, async () => {
  const cache = await inProcess("plain", {});
  const i = cursor++ % KEYS;
  await cache.set({ namespace: "acme", key: keys[i]!, value: values[i] }, call);
});
Deno.bench("cache.get hit, local tier (handler)", { group: "handler" }, async () => {
  const cache = await inProcess("local", { local: { max_entries: 2000, ttl_ms: 60_000 } });
  await cache.get({ namespace: "acme", key: keys[cursor++ % KEYS]! }, call);
});
Deno.bench("100 concurrent cache.get hits (handler → Redis, pipelined)", {
  group: "handler",
}, async () => {
  const cache = await inProcess("plain", {});
  await Promise.all(
    Array.from(
      { length: 100 },
      () => cache.get({ namespace: "acme", key: keys[cursor++ % KEYS]! }, call),
    ),
  );
});

let process: Promise<PluginProcess> | undefined;
async function hop(): Promise<ReturnType<typeof cacheProviderClient>> {
  process ??= server().then((started) =>
    PluginProcess.start({
      command: pluginBinary("cache-redis"),
      instance: "bench",
      capabilities: ["cache_provider"],
      config: { url: started.url },
      onLog: () => {},
      restart: false,
    })
  ).then(async (started) => {
    atExit.unshift(() => Deno.kill(started.pid!, "SIGKILL"));
    const client = cacheProviderClient(started);
    // The first calls may come before the plugin has connected.
    while (await client.get({ namespace: "acme", key: keys[0]! }).then(() => false, () => true)) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const [i, key] of keys.entries()) {
      await client.set({ namespace: "acme", key, value: values[i] });
    }
    return started;
  });
  return cacheProviderClient(await process);
}

Deno.bench("cache.get hit across stdio", { group: "stdio" }, async () => {
  const client = await hop();
  await client.get({ namespace: "acme", key: keys[cursor++ % KEYS]! });
});
Deno.bench("cache.get miss across stdio", { group: "stdio" }, async () => {
  const client = await hop();
  await client.get({ namespace: "other", key: keys[cursor++ % KEYS]! });
});
Deno.bench("cache.set 0.9 KB across stdio", { group: "stdio" }, async () => {
  const client = await hop();
  const i = cursor++ % KEYS;
  await client.set({ namespace: "acme", key: keys[i]!, value: values[i] });
});
