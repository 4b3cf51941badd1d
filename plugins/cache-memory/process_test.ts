import assert from "node:assert/strict";
import fc from "fast-check";
import { cacheProviderClient, checkHealth, PluginProcess } from "@vulpes/contract/host";
import {
  assertConfigRefused,
  assertConformant,
  assertNoPermissions,
  pluginBinary,
} from "../../tests/_support.ts";

const BINARY = pluginBinary("cache-memory");

async function start(
  config: Record<string, unknown> = {},
  logs: Record<string, unknown>[] = [],
): Promise<PluginProcess> {
  return await PluginProcess.start({
    command: BINARY,
    instance: "cache",
    capabilities: ["cache_provider"],
    config,
    onLog: (record) => logs.push(record),
    restart: false,
  });
}

const completion = {
  id: "chatcmpl-1",
  object: "chat.completion",
  model: "gpt-4o",
  choices: [{ index: 0, message: { role: "assistant", content: "Bonjour ☀️" } }],
  usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
};

Deno.test("bin/cache-memory passes the conformance check", async () => {
  await assertConformant(BINARY, { config: { max_entries: 100 } });
});

Deno.test("bin/cache-memory has no permissions, as declared and as described", async () => {
  await assertNoPermissions("cache-memory", ["cache_provider"]);
});

Deno.test("bin/cache-memory gets, sets, deletes and clears through the host client", async () => {
  const logs: Record<string, unknown>[] = [];
  const plugin = await start({ max_bytes: 4096, max_entry_bytes: 512 }, logs);
  try {
    const cache = cacheProviderClient(plugin);
    assert.deepEqual(await cache.get({ namespace: "acme", key: "k1" }), { hit: false });
    assert.deepEqual(await cache.set({ namespace: "acme", key: "k1", value: completion }), {
      stored: true,
    });
    const hit = await cache.get({ namespace: "acme", key: "k1" });
    assert.ok(hit.hit);
    assert.deepEqual(hit.value, completion);
    assert.ok(hit.age_ms >= 0 && hit.age_ms < 5000, String(hit.age_ms));
    assert.deepEqual(
      await cache.set({ namespace: "acme", key: "big", value: "x".repeat(600) }),
      { stored: false },
    );
    await cache.set({ namespace: "acme", key: "k2", value: [1, 2, 3], ttl_ms: 60_000 });
    assert.deepEqual(await cache.delete({ namespace: "acme", key: "k1" }), { deleted: true });
    assert.deepEqual(await cache.delete({ namespace: "acme", key: "k1" }), { deleted: false });
    assert.deepEqual(await cache.clear({ namespace: "acme" }), { cleared: 1 });
    assert.deepEqual(await checkHealth(plugin), {
      status: "ok",
      detail: {
        entries: 0,
        bytes: 0,
        namespaces: 0,
        hits: 1,
        misses: 1,
        evictions: 0,
        expirations: 0,
        too_large: 1,
      },
    });
  } finally {
    await plugin.shutdown();
  }
  assert.ok(logs.some((record) => record.msg === "initialized" && record.instance === "cache"));
  assert.deepEqual(logs.filter((record) => record.level !== "info"), []);
});

Deno.test("bin/cache-memory keeps tenants apart, even when namespace and key could be joined alike", async () => {
  const plugin = await start();
  try {
    const cache = cacheProviderClient(plugin);
    await cache.set({ namespace: "a:b", key: "c", value: "tenant a:b" });
    assert.deepEqual(await cache.get({ namespace: "a", key: "b:c" }), { hit: false });
    await cache.set({ namespace: "a", key: "b:c", value: "tenant a" });
    await cache.set({ namespace: "acme", key: "same-key", value: "acme" });
    await cache.set({ namespace: "globex", key: "same-key", value: "globex" });
    const values = [];
    for (const [namespace, key] of [["a:b", "c"], ["a", "b:c"], ["acme", "same-key"]]) {
      const answer = await cache.get({ namespace: namespace!, key: key! });
      values.push(answer.hit ? answer.value : null);
    }
    assert.deepEqual(values, ["tenant a:b", "tenant a", "acme"]);
    assert.deepEqual(await cache.clear({ namespace: "acme" }), { cleared: 1 });
    const globex = await cache.get({ namespace: "globex", key: "same-key" });
    assert.deepEqual(globex.hit && globex.value, "globex");
  } finally {
    await plugin.shutdown();
  }
});

Deno.test("bin/cache-memory refuses a bad config naming every field", async () => {
  const error = await assertConfigRefused(
    start({
      max_entries: 0,
      max_bytes: 100,
      max_entry_bytes: 1000,
      default_ttl_ms: 7_200_000,
      ttl: 5,
    }),
    ["default_ttl_ms", "max_entries", "max_entry_bytes", "ttl"],
  );
  assert.match(error.message, /plugin "cache-memory" \(instance "cache"\)/);
});

/** The reference for the process property: an array, least recently used first. */
function referenceModel(limits: { maxEntries: number; maxBytes: number; maxEntryBytes: number }) {
  let entries: { ns: string; key: string; value: unknown; size: number }[] = [];
  const size = (ns: string, key: string, value: unknown) =>
    new TextEncoder().encode(JSON.stringify(value) + ns + key).length;
  return {
    get(ns: string, key: string) {
      const index = entries.findIndex((e) => e.ns === ns && e.key === key);
      if (index === -1) return { hit: false };
      const [entry] = entries.splice(index, 1);
      entries.push(entry!);
      return { hit: true, value: entry!.value };
    },
    set(ns: string, key: string, value: unknown) {
      entries = entries.filter((e) => !(e.ns === ns && e.key === key));
      const bytes = size(ns, key, value);
      if (bytes > limits.maxEntryBytes) return { stored: false };
      entries.push({ ns, key, value, size: bytes });
      const total = () => entries.reduce((sum, e) => sum + e.size, 0);
      while (entries.length > limits.maxEntries || total() > limits.maxBytes) entries.shift();
      return { stored: true };
    },
    delete(ns: string, key: string) {
      const before = entries.length;
      entries = entries.filter((e) => !(e.ns === ns && e.key === key));
      return { deleted: entries.length < before };
    },
    clear(ns: string) {
      const before = entries.length;
      entries = entries.filter((e) => e.ns !== ns);
      return { cleared: before - entries.length };
    },
    stats() {
      return { entries: entries.length, bytes: entries.reduce((sum, e) => sum + e.size, 0) };
    },
  };
}

const NAMESPACES = ["acme", "a:b", "a", "ünï"];
const KEYS = ["c", "b:c", "k", "😀"];

Deno.test("bin/cache-memory agrees with a reference LRU over random operation sequences", async () => {
  const limits = { maxEntries: 5, maxBytes: 300, maxEntryBytes: 120 };
  const ns = fc.constantFrom(...NAMESPACES);
  const key = fc.constantFrom(...KEYS);
  const operation = fc.oneof(
    fc.record({
      op: fc.constant("set" as const),
      ns,
      key,
      value: fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.parse(JSON.stringify(v))),
    }),
    fc.record({ op: fc.constantFrom("get" as const, "delete" as const), ns, key }),
    fc.record({ op: fc.constant("clear" as const), ns }),
  );
  const plugin = await start({
    max_entries: limits.maxEntries,
    max_bytes: limits.maxBytes,
    max_entry_bytes: limits.maxEntryBytes,
  });
  try {
    const cache = cacheProviderClient(plugin);
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { maxLength: 40 }), async (operations) => {
        for (const namespace of NAMESPACES) await cache.clear({ namespace });
        const model = referenceModel(limits);
        for (const o of operations) {
          if (o.op === "set") {
            // ttl_ms far beyond the test's duration: the real clock never expires an entry here.
            const answer = await cache.set({
              namespace: o.ns,
              key: o.key,
              value: o.value,
              ttl_ms: 3_600_000,
            });
            assert.deepEqual(answer, model.set(o.ns, o.key, o.value));
          } else if (o.op === "get") {
            const answer = await cache.get({ namespace: o.ns, key: o.key });
            const expected = model.get(o.ns, o.key);
            assert.deepEqual(answer.hit ? { hit: true, value: answer.value } : answer, expected);
          } else if (o.op === "delete") {
            assert.deepEqual(
              await cache.delete({ namespace: o.ns, key: o.key }),
              model.delete(
                o.ns,
                o.key,
              ),
            );
          } else assert.deepEqual(await cache.clear({ namespace: o.ns }), model.clear(o.ns));
        }
        const detail = (await checkHealth(plugin)).detail!;
        assert.deepEqual({ entries: detail.entries, bytes: detail.bytes }, model.stats());
      }),
      { numRuns: 150 },
    );
  } finally {
    await plugin.shutdown();
  }
});
