import assert from "node:assert/strict";
import type { CacheProviderHandlers } from "@vulpes/contract/capabilities";
import { check } from "@vulpes/contract/capabilities";
import { configJsonSchema, type PluginInstance, servePlugin } from "@vulpes/contract/plugin";
import { createLinkedPair, Peer, PluginError, RpcError } from "@vulpes/contract/protocol";
import { createTestCall, createTestContext } from "@vulpes/contract/testing";
import { configSchema } from "./config.ts";
import { plugin } from "./mod.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");

const call = createTestCall();

/** A plugin instance on a clock the test moves by hand. */
async function instance(config: unknown = {}) {
  const clock = { now: T0 };
  const created: PluginInstance = await plugin.create(
    configSchema.parse(config),
    createTestContext({ now: () => clock.now }),
  );
  return { clock, created, cache: created.cache_provider! as Required<CacheProviderHandlers> };
}

const completion = {
  id: "chatcmpl-1",
  object: "chat.completion",
  choices: [{ index: 0, message: { role: "assistant", content: "Hi" }, finish_reason: "stop" }],
};

Deno.test("get() misses, then hits with the value and its age after a set", async () => {
  const { clock, cache } = await instance();
  assert.deepEqual(await cache.get({ namespace: "acme", key: "k" }, call), { hit: false });
  assert.deepEqual(
    await cache.set({ namespace: "acme", key: "k", value: completion }, call),
    { stored: true },
  );
  clock.now += 1234;
  assert.deepEqual(await cache.get({ namespace: "acme", key: "k" }, call), {
    hit: true,
    value: completion,
    age_ms: 1234,
  });
});

Deno.test("get() returns a fresh copy: changing it does not change the cache", async () => {
  const { cache } = await instance();
  const value = { choices: [{ message: { content: "original" } }] };
  await cache.set({ namespace: "acme", key: "k", value }, call);
  value.choices[0]!.message.content = "changed by the caller after the set";
  const first = await cache.get({ namespace: "acme", key: "k" }, call);
  assert.ok(first.hit);
  (first.value as typeof value).choices[0]!.message.content = "changed by the reader";
  const second = await cache.get({ namespace: "acme", key: "k" }, call);
  assert.deepEqual(second.hit && second.value, { choices: [{ message: { content: "original" } }] });
});

Deno.test("set() applies default_ttl_ms when no ttl_ms is given", async () => {
  const { clock, cache } = await instance({ default_ttl_ms: 1000 });
  await cache.set({ namespace: "acme", key: "k", value: 1 }, call);
  clock.now = T0 + 999;
  assert.equal((await cache.get({ namespace: "acme", key: "k" }, call)).hit, true);
  clock.now = T0 + 1000;
  assert.equal((await cache.get({ namespace: "acme", key: "k" }, call)).hit, false);
});

Deno.test("set() cuts a ttl_ms longer than max_ttl_ms, and keeps a shorter one", async () => {
  const { clock, cache } = await instance({ default_ttl_ms: 100, max_ttl_ms: 5000 });
  await cache.set({ namespace: "acme", key: "long", value: 1, ttl_ms: 86_400_000 }, call);
  await cache.set({ namespace: "acme", key: "short", value: 1, ttl_ms: 300 }, call);
  clock.now = T0 + 299;
  assert.equal((await cache.get({ namespace: "acme", key: "short" }, call)).hit, true);
  clock.now = T0 + 300;
  assert.equal((await cache.get({ namespace: "acme", key: "short" }, call)).hit, false);
  clock.now = T0 + 4999;
  assert.equal((await cache.get({ namespace: "acme", key: "long" }, call)).hit, true);
  clock.now = T0 + 5000;
  assert.equal((await cache.get({ namespace: "acme", key: "long" }, call)).hit, false);
});

Deno.test("set() answers stored: false for a value over max_entry_bytes", async () => {
  // Entry size: JSON text of the value + namespace (4) + key (1). The string "x…" of n
  // characters is n + 2 bytes of JSON.
  const { cache, created } = await instance({ max_bytes: 1000, max_entry_bytes: 100 });
  const fits = "x".repeat(100 - 2 - 5);
  assert.deepEqual(await cache.set({ namespace: "acme", key: "k", value: fits }, call), {
    stored: true,
  });
  assert.deepEqual(await cache.set({ namespace: "acme", key: "k", value: `${fits}x` }, call), {
    stored: false,
  });
  assert.deepEqual(await cache.get({ namespace: "acme", key: "k" }, call), { hit: false });
  const health = await created.health!();
  assert.equal(health.detail?.too_large, 1);
});

Deno.test("delete() and clear() remove entries of one namespace only", async () => {
  const { cache } = await instance();
  for (const namespace of ["acme", "globex"]) {
    for (const key of ["a", "b"]) await cache.set({ namespace, key, value: namespace }, call);
  }
  assert.deepEqual(await cache.delete({ namespace: "acme", key: "a" }, call), { deleted: true });
  assert.deepEqual(await cache.delete({ namespace: "acme", key: "a" }, call), { deleted: false });
  assert.deepEqual(await cache.clear({ namespace: "globex" }, call), { cleared: 2 });
  assert.deepEqual(await cache.clear({ namespace: "nobody" }, call), { cleared: 0 });
  assert.deepEqual(await cache.get({ namespace: "acme", key: "b" }, call), {
    hit: true,
    value: "acme",
    age_ms: 0,
  });
  assert.deepEqual(await cache.get({ namespace: "globex", key: "b" }, call), { hit: false });
});

Deno.test("get() never serves one tenant's entry to another", async () => {
  const { cache } = await instance();
  await cache.set({ namespace: "a:b", key: "c", value: "tenant a:b" }, call);
  assert.deepEqual(await cache.get({ namespace: "a", key: "b:c" }, call), { hit: false });
  assert.deepEqual(await cache.get({ namespace: "a:b", key: "c" }, call), {
    hit: true,
    value: "tenant a:b",
    age_ms: 0,
  });
});

Deno.test("health() reports entries, bytes, hits, misses, evictions and expirations", async () => {
  const { clock, cache, created } = await instance({ max_entries: 2, default_ttl_ms: 1000 });
  await cache.set({ namespace: "t", key: "a", value: "1" }, call); // "1" → 3 + 1 + 1 bytes
  await cache.set({ namespace: "t", key: "b", value: "1" }, call);
  await cache.set({ namespace: "t", key: "c", value: "1" }, call); // evicts a
  await cache.get({ namespace: "t", key: "a" }, call);
  await cache.get({ namespace: "t", key: "b" }, call);
  clock.now = T0 + 500;
  await cache.set({ namespace: "u", key: "d", value: "1" }, call); // evicts c, the least recent
  clock.now = T0 + 1000; // b has expired; health sweeps it
  assert.deepEqual(await created.health!(), {
    status: "ok",
    detail: {
      entries: 1,
      bytes: 5,
      namespaces: 1,
      hits: 1,
      misses: 1,
      evictions: 2,
      expirations: 1,
      too_large: 0,
    },
  });
});

Deno.test("configSchema fills defaults, max_entry_bytes as a sixteenth of max_bytes", () => {
  assert.deepEqual(configSchema.parse({}), {
    max_entries: 10_000,
    max_bytes: 64 * 1024 * 1024,
    max_entry_bytes: 4 * 1024 * 1024,
    default_ttl_ms: 300_000,
    max_ttl_ms: 3_600_000,
  });
  assert.equal(configSchema.parse({ max_bytes: 1000 }).max_entry_bytes, 62);
  assert.equal(configSchema.parse({ max_bytes: 10 }).max_entry_bytes, 1);
  assert.equal(configSchema.parse({ max_bytes: 10, max_entry_bytes: 10 }).max_entry_bytes, 10);
});

Deno.test("configSchema lists every bad field path in one pass", () => {
  const result = check(configSchema, {
    max_entries: 0,
    max_bytes: 100,
    max_entry_bytes: 101,
    default_ttl_ms: 0,
    max_ttl_ms: "1h",
    colour: "red",
  });
  assert.equal(result.ok, false);
  const issues = result.ok ? [] : result.issues;
  assert.deepEqual(issues.map((issue) => issue.path).sort(), [
    "colour",
    "default_ttl_ms",
    "max_entries",
    "max_entry_bytes",
    "max_ttl_ms",
  ]);
  const crossed = check(configSchema, { max_ttl_ms: 60_000 });
  assert.deepEqual(crossed.ok ? [] : crossed.issues, [{
    path: "default_ttl_ms",
    message:
      "expected at most max_ttl_ms (60000), received 300000: lower default_ttl_ms (default 300000) or raise max_ttl_ms",
  }]);
  const bytes = check(configSchema, { max_bytes: 100, max_entry_bytes: 101 });
  assert.match(bytes.ok ? "" : bytes.issues[0]!.message, /at most max_bytes \(100\)/);
  const huge = check(configSchema, { max_entries: 20_000_000, max_bytes: 1.5 });
  assert.deepEqual(huge.ok ? [] : huge.issues.map((issue) => issue.path), [
    "max_entries",
    "max_bytes",
  ]);
});

Deno.test("configSchema describes every field, and gives each a default or says it", () => {
  const schema = configJsonSchema(configSchema);
  const properties = schema.properties as Record<string, Record<string, unknown>>;
  assert.deepEqual(Object.keys(properties), [
    "max_entries",
    "max_bytes",
    "max_entry_bytes",
    "default_ttl_ms",
    "max_ttl_ms",
  ]);
  for (const [name, field] of Object.entries(properties)) {
    assert.ok(typeof field.description === "string" && field.description !== "", name);
    assert.ok("default" in field || /Default: /.test(String(field.description)), name);
  }
  assert.deepEqual(schema.required ?? [], []);
});

Deno.test("the plugin caches over the protocol in memory, with the runtime's clock", async () => {
  let now = T0;
  const [core, side] = createLinkedPair();
  const served = servePlugin(plugin, side, { writeLog: () => {}, context: { now: () => now } });
  const host = new Peer(core);
  await host.start();
  await host.request("initialize", {
    protocol_version: "1",
    instance: "cache",
    capabilities: ["cache_provider"],
    config: { default_ttl_ms: 1000 },
    settings: { capture_payloads: false },
  });
  assert.deepEqual(
    await host.request("cache.set", { namespace: "acme", key: "k", value: completion }),
    { stored: true },
  );
  now += 10;
  assert.deepEqual(await host.request("cache.get", { namespace: "acme", key: "k" }), {
    hit: true,
    value: completion,
    age_ms: 10,
  });
  now += 990;
  assert.deepEqual(await host.request("cache.get", { namespace: "acme", key: "k" }), {
    hit: false,
  });
  const bad = await host.request("cache.set", { namespace: "acme", key: "k" }).then(
    () => null,
    (e) => e,
  );
  assert.ok(bad instanceof RpcError && bad.code === -32602, String(bad));
  const refused = await host.request("cache.set", {
    namespace: "",
    key: "k",
    value: 1,
    ttl_ms: 0,
  }).then(() => null, (e) => e);
  assert.ok(refused instanceof RpcError && !(refused instanceof PluginError), String(refused));
  await host.request("shutdown");
  await served.done;
});
