import assert from "node:assert/strict";
import { PluginError } from "@vulpes/contract/plugin";
import { createTestCall, createTestContext } from "@vulpes/contract/testing";
import { createCache, type EntryStore } from "./_cache.ts";
import { FORMAT_GZIP, HEADER_BYTES } from "./_codec.ts";
import { redisKey } from "./_keys.ts";
import { LocalTier } from "./_local.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");

/** Redis as a map with expiry on the test's clock, and a switch to make it fail. */
class FakeStore implements EntryStore {
  entries = new Map<string, { bytes: Uint8Array; expiresAt: number }>();
  ttls: number[] = [];
  down = false;
  constructor(readonly clock: { now: number }) {}
  #check(): void {
    if (this.down) throw new PluginError("unavailable", "Cannot reach Redis", { reason: "test" });
  }
  #live(key: string) {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= this.clock.now) this.entries.delete(key);
    return this.entries.get(key);
  }
  get(key: string) {
    this.#check();
    return Promise.resolve(this.#live(key)?.bytes ?? null);
  }
  set(key: string, bytes: Uint8Array, ttlMs: number) {
    this.#check();
    this.ttls.push(ttlMs);
    this.entries.set(key, { bytes, expiresAt: this.clock.now + ttlMs });
    return Promise.resolve();
  }
  delete(key: string) {
    this.#check();
    const live = this.#live(key) !== undefined;
    this.entries.delete(key);
    return Promise.resolve(live);
  }
  deleteMatching(pattern: string) {
    this.#check();
    const start = pattern.slice(0, -1).replace(/\\(.)/g, "$1");
    let removed = 0;
    for (const key of [...this.entries.keys()]) {
      if (key.startsWith(start) && this.#live(key)) {
        this.entries.delete(key);
        removed++;
      }
    }
    return Promise.resolve(removed);
  }
}

const call = createTestCall();

function setup(options: { local?: boolean; maxEntryBytes?: number } = {}) {
  const clock = { now: T0 };
  const context = createTestContext({ now: () => clock.now });
  const store = new FakeStore(clock);
  const local = options.local
    ? new LocalTier({ maxEntries: 100, maxBytes: 1 << 20, ttlMs: 1000 })
    : undefined;
  const { handlers, counters } = createCache({
    store,
    local,
    prefix: "t:",
    defaultTtlMs: 300_000,
    maxTtlMs: 3_600_000,
    maxEntryBytes: options.maxEntryBytes ?? 1 << 20,
    encoding: { compression: "gzip", compressMinBytes: 64 },
    now: context.now,
    logger: context.logger,
  });
  return { clock, store, cache: handlers, counters, logs: context.logs };
}

const completion = {
  id: "chatcmpl-1",
  object: "chat.completion",
  choices: [{ index: 0, message: { role: "assistant", content: "Bonjour ☀️ ".repeat(20) } }],
};

Deno.test("get() misses, then hits with the value and its age after a set", async () => {
  const { clock, store, cache, counters } = setup();
  assert.deepEqual(await cache.get({ namespace: "acme", key: "k" }, call), { hit: false });
  assert.deepEqual(await cache.set({ namespace: "acme", key: "k", value: completion }, call), {
    stored: true,
  });
  const stored = store.entries.get(redisKey("t:", "acme", "k"))!.bytes;
  assert.equal(stored[0], FORMAT_GZIP, "a value over compress_min_bytes is compressed");
  clock.now += 1234;
  assert.deepEqual(await cache.get({ namespace: "acme", key: "k" }, call), {
    hit: true,
    value: completion,
    age_ms: 1234,
  });
  assert.deepEqual(counters(), {
    hits: 1,
    local_hits: 0,
    misses: 1,
    stores: 1,
    too_large: 0,
    corrupt: 0,
  });
});

Deno.test("set() gives Redis the TTL: default, as asked, or cut to max_ttl_ms", async () => {
  const { store, cache } = setup();
  await cache.set({ namespace: "acme", key: "a", value: 1 }, call);
  await cache.set({ namespace: "acme", key: "b", value: 1, ttl_ms: 5000 }, call);
  await cache.set({ namespace: "acme", key: "c", value: 1, ttl_ms: 86_400_000 }, call);
  assert.deepEqual(store.ttls, [300_000, 5000, 3_600_000]);
});

Deno.test("an entry expires with its TTL in the store", async () => {
  const { clock, cache } = setup();
  await cache.set({ namespace: "acme", key: "k", value: 1, ttl_ms: 1000 }, call);
  clock.now = T0 + 999;
  assert.equal((await cache.get({ namespace: "acme", key: "k" }, call)).hit, true);
  clock.now = T0 + 1000;
  assert.equal((await cache.get({ namespace: "acme", key: "k" }, call)).hit, false);
});

Deno.test("set() refuses a value over max_entry_bytes as cache-memory does, removing the old one", async () => {
  // Entry size: JSON text + namespace (4) + key (1); "x…" of n characters is n + 2 bytes.
  const { cache, counters } = setup({ maxEntryBytes: 100 });
  const fits = "x".repeat(100 - 2 - 5);
  assert.deepEqual(await cache.set({ namespace: "acme", key: "k", value: fits }, call), {
    stored: true,
  });
  assert.deepEqual(await cache.set({ namespace: "acme", key: "k", value: `${fits}x` }, call), {
    stored: false,
  });
  assert.deepEqual(await cache.get({ namespace: "acme", key: "k" }, call), { hit: false });
  assert.equal(counters().too_large, 1);
  const wide = "é".repeat(47); // 94 bytes of UTF-8 + 2 quotes + 5 = 101
  assert.deepEqual(await cache.set({ namespace: "acme", key: "k", value: wide }, call), {
    stored: false,
  });
});

Deno.test("delete() and clear() remove entries of one namespace only", async () => {
  const { cache } = setup();
  for (const namespace of ["acme", "a*", "ab"]) {
    for (const key of ["a", "b"]) await cache.set({ namespace, key, value: namespace }, call);
  }
  assert.deepEqual(await cache.delete({ namespace: "acme", key: "a" }, call), { deleted: true });
  assert.deepEqual(await cache.delete({ namespace: "acme", key: "a" }, call), { deleted: false });
  assert.deepEqual(await cache.clear({ namespace: "a*" }, call), { cleared: 2 });
  assert.deepEqual(await cache.clear({ namespace: "nobody" }, call), { cleared: 0 });
  const left = await cache.get({ namespace: "ab", key: "b" }, call);
  assert.deepEqual(left.hit && left.value, "ab");
  assert.deepEqual(await cache.get({ namespace: "a*", key: "b" }, call), { hit: false });
});

Deno.test("get() treats a value it cannot decode as a miss, and logs no key or value", async () => {
  const { store, cache, counters, logs } = setup();
  store.entries.set(redisKey("t:", "acme", "k"), {
    bytes: new TextEncoder().encode('{"written":"by something else"}'),
    expiresAt: Infinity,
  });
  assert.deepEqual(await cache.get({ namespace: "acme", key: "k" }, call), { hit: false });
  const plainNotJson = new Uint8Array(HEADER_BYTES + 3);
  plainNotJson.set(new TextEncoder().encode("{{{"), HEADER_BYTES);
  store.entries.set(redisKey("t:", "acme", "j"), { bytes: plainNotJson, expiresAt: Infinity });
  assert.deepEqual(await cache.get({ namespace: "acme", key: "j" }, call), { hit: false });
  assert.equal(counters().corrupt, 2);
  assert.equal(counters().misses, 2);
  const warnings = logs.filter((record) => record.level === "warn");
  assert.deepEqual(warnings.map((record) => record.why), [
    "unknown format byte 0x7b",
    "its text is not JSON",
  ]);
  assert.ok(!JSON.stringify(logs).includes("something else"));
});

Deno.test("get() returns a fresh copy: changing it does not change the cache", async () => {
  const { cache } = setup({ local: true });
  const value = { choices: [{ message: { content: "original" } }] };
  await cache.set({ namespace: "acme", key: "k", value }, call);
  value.choices[0]!.message.content = "changed by the caller after the set";
  const first = await cache.get({ namespace: "acme", key: "k" }, call);
  assert.ok(first.hit);
  (first.value as typeof value).choices[0]!.message.content = "changed by the reader";
  const second = await cache.get({ namespace: "acme", key: "k" }, call);
  assert.deepEqual(second.hit && second.value, { choices: [{ message: { content: "original" } }] });
});

Deno.test("the local tier answers within its TTL without the store, then asks the store again", async () => {
  const { clock, store, cache, counters } = setup({ local: true });
  await cache.set({ namespace: "acme", key: "k", value: "v1" }, call);
  store.down = true;
  clock.now = T0 + 999;
  assert.deepEqual(await cache.get({ namespace: "acme", key: "k" }, call), {
    hit: true,
    value: "v1",
    age_ms: 999,
  });
  assert.equal(counters().local_hits, 1);
  clock.now = T0 + 1000;
  await assert.rejects(cache.get({ namespace: "acme", key: "k" }, call), PluginError);
  store.down = false;
  // Another instance replaced the value in the store: seen once the local copy is too old.
  await store.set(redisKey("t:", "acme", "k"), (await setupBytes("v2"))!, 60_000);
  const fresh = await cache.get({ namespace: "acme", key: "k" }, call);
  assert.deepEqual(fresh.hit && fresh.value, "v2");
});

/** The stored bytes of a value, as another instance would write them. */
async function setupBytes(value: unknown): Promise<Uint8Array | null> {
  const other = setup();
  await other.cache.set({ namespace: "acme", key: "k", value }, call);
  return await other.store.get(redisKey("t:", "acme", "k"));
}

Deno.test("delete() and clear() drop local copies too", async () => {
  const { cache } = setup({ local: true });
  await cache.set({ namespace: "acme", key: "a", value: 1 }, call);
  await cache.set({ namespace: "acme", key: "b", value: 1 }, call);
  await cache.delete({ namespace: "acme", key: "a" }, call);
  assert.deepEqual(await cache.get({ namespace: "acme", key: "a" }, call), { hit: false });
  await cache.clear({ namespace: "acme" }, call);
  assert.deepEqual(await cache.get({ namespace: "acme", key: "b" }, call), { hit: false });
});

Deno.test("a store failure is thrown on, and leaves no stale local copy", async () => {
  const { store, cache } = setup({ local: true });
  await cache.set({ namespace: "acme", key: "k", value: "old" }, call);
  store.down = true;
  const error = await cache.set({ namespace: "acme", key: "k", value: "new" }, call).catch((e) =>
    e
  );
  assert.ok(error instanceof PluginError && error.type === "unavailable", String(error));
  await assert.rejects(cache.get({ namespace: "acme", key: "k" }, call), PluginError);
  await assert.rejects(cache.delete({ namespace: "acme", key: "k" }, call), PluginError);
  await assert.rejects(cache.clear({ namespace: "acme" }, call), PluginError);
});
