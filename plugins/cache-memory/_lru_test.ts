import assert from "node:assert/strict";
import fc from "fast-check";
import { entryKey, entrySize, LruStore, SWEEP_EVERY, utf8Length } from "./_lru.ts";

const T0 = 1_000_000;
const ROOMY = { maxEntries: 100, maxBytes: 1_000_000, maxEntryBytes: 100_000 };

function keysOf(store: LruStore): string[] {
  return [...store.keys()].map(([namespace, key]) => `${namespace}/${key}`);
}

Deno.test('entryKey() never lets namespace "a:b" + key "c" meet namespace "a" + key "b:c"', () => {
  assert.notEqual(entryKey("a:b", "c"), entryKey("a", "b:c"));
  const store = new LruStore(ROOMY);
  store.set("a:b", "c", '"tenant a:b"', 1000, T0);
  assert.equal(store.get("a", "b:c", T0), undefined);
  store.set("a", "b:c", '"tenant a"', 1000, T0);
  assert.equal(store.get("a:b", "c", T0)?.text, '"tenant a:b"');
  assert.equal(store.get("a", "b:c", T0)?.text, '"tenant a"');
});

Deno.test("entryKey() is one-to-one over any namespace and key", () => {
  fc.assert(
    fc.property(fc.string(), fc.string(), fc.string(), fc.string(), (n1, k1, n2, k2) => {
      fc.pre(n1 !== n2 || k1 !== k2);
      assert.notEqual(entryKey(n1, k1), entryKey(n2, k2));
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(
      fc.constantFrom(":", "1:", ":1", "a:", "::"),
      fc.string({ minLength: 1 }),
      (piece, rest) => {
        assert.notEqual(entryKey(piece, rest), entryKey(piece + rest, ""));
      },
    ),
  );
});

Deno.test("utf8Length() counts what TextEncoder writes, lone surrogates included", () => {
  const encoder = new TextEncoder();
  for (const text of ["", "abc", "é", "€", "😀", "\ud800", "\udc00x", "a\ud83d\ude00\ud83d"]) {
    assert.equal(utf8Length(text), encoder.encode(text).length, JSON.stringify(text));
  }
  fc.assert(
    fc.property(fc.string({ unit: "binary" }), (text) => {
      assert.equal(utf8Length(text), encoder.encode(text).length);
    }),
    { numRuns: 2000 },
  );
  // Past 65,536 UTF-16 units the length is counted instead of encoded.
  for (const unit of ["a", "é", "€", "😀", "\ud800", "\udfff\ud800"]) {
    const text = `${unit.repeat(70_000)}\ud83d`;
    assert.equal(utf8Length(text), encoder.encode(text).length, unit);
  }
  fc.assert(
    fc.property(fc.string({ unit: "binary", minLength: 1, maxLength: 40 }), (piece) => {
      const text = piece.repeat(Math.ceil(65_537 / piece.length));
      assert.equal(utf8Length(text), encoder.encode(text).length);
    }),
    { numRuns: 50 },
  );
});

Deno.test("LruStore evicts the least recently used entry, a get counting as a use", () => {
  const store = new LruStore({ ...ROOMY, maxEntries: 3 });
  for (const key of ["a", "b", "c"]) store.set("t", key, "1", 1000, T0);
  assert.ok(store.get("t", "a", T0));
  store.set("t", "d", "1", 1000, T0);
  assert.deepEqual(keysOf(store), ["t/c", "t/a", "t/d"]);
  store.set("t", "c", "2", 1000, T0); // a set refreshes too
  store.set("t", "e", "1", 1000, T0);
  assert.deepEqual(keysOf(store), ["t/d", "t/c", "t/e"]);
  assert.equal(store.get("t", "b", T0), undefined);
  assert.deepEqual(store.stats(), {
    entries: 3,
    bytes: 3 * 3,
    namespaces: 1,
    hits: 1,
    misses: 1,
    evictions: 2,
    expirations: 0,
    too_large: 0,
  });
});

Deno.test("LruStore evicts by bytes, oldest first, until the new entry fits", () => {
  // Each entry: 10 bytes of text + "t" + one-letter key = 12 bytes.
  const store = new LruStore({ maxEntries: 100, maxBytes: 40, maxEntryBytes: 40 });
  for (const key of ["a", "b", "c"]) store.set("t", key, "x".repeat(10), 1000, T0);
  assert.equal(store.stats().bytes, 36);
  store.set("t", "d", "y".repeat(10), 1000, T0);
  assert.deepEqual(keysOf(store), ["t/b", "t/c", "t/d"]);
  store.set("t", "e", "z".repeat(26), 1000, T0); // 28 bytes: b and c must go
  assert.deepEqual(keysOf(store), ["t/d", "t/e"]);
  assert.equal(store.stats().bytes, 12 + 28);
  assert.equal(store.stats().evictions, 3);
});

Deno.test("LruStore counts bytes as UTF-8 of text, namespace and key, and replacing a key frees the old size", () => {
  const store = new LruStore(ROOMY);
  store.set("tenant-é", "k", '"€"', 1000, T0);
  assert.equal(store.stats().bytes, entrySize("tenant-é", "k", '"€"'));
  assert.equal(store.stats().bytes, 5 + 9 + 1);
  store.set("tenant-é", "k", '"a much longer value"', 1000, T0);
  assert.equal(store.stats().bytes, 21 + 9 + 1);
  store.set("tenant-é", "k", "1", 1000, T0);
  assert.equal(store.stats().bytes, 1 + 9 + 1);
  assert.equal(store.stats().entries, 1);
  store.set("other", "k2", "22", 1000, T0);
  assert.equal(store.stats().bytes, 11 + 2 + 5 + 2);
  assert.equal(store.delete("tenant-é", "k", T0), true);
  assert.equal(store.stats().bytes, 9);
  assert.equal(store.clear("other", T0), 1);
  assert.deepEqual(store.stats(), {
    entries: 0,
    bytes: 0,
    namespaces: 0,
    hits: 0,
    misses: 0,
    evictions: 0,
    expirations: 0,
    too_large: 0,
  });
});

Deno.test("LruStore refuses an entry over maxEntryBytes and drops the key's older value", () => {
  const store = new LruStore({ maxEntries: 10, maxBytes: 100, maxEntryBytes: 20 });
  assert.equal(store.set("t", "k", "x".repeat(18), 1000, T0), true); // 20 bytes: fits exactly
  assert.equal(store.set("t", "k", "x".repeat(19), 1000, T0), false);
  assert.equal(store.get("t", "k", T0), undefined, "never an older value after a set");
  assert.deepEqual(
    [store.stats().entries, store.stats().bytes, store.stats().too_large, store.stats().evictions],
    [0, 0, 1, 0],
  );
});

Deno.test("LruStore keeps an entry alive at ttl - 1 ms and drops it at ttl", () => {
  const store = new LruStore(ROOMY);
  store.set("t", "k", "1", 500, T0);
  assert.deepEqual(store.get("t", "k", T0 + 499), { text: "1", storedAt: T0 });
  assert.equal(store.get("t", "k", T0 + 500), undefined);
  assert.equal(store.get("t", "k", T0), undefined, "dropped, not hidden");
  const stats = store.stats();
  assert.deepEqual([stats.hits, stats.misses, stats.expirations, stats.entries], [1, 2, 1, 0]);
});

Deno.test("LruStore counts time to live from the set: a hit does not extend it", () => {
  const store = new LruStore(ROOMY);
  store.set("t", "k", "1", 100, T0);
  assert.ok(store.get("t", "k", T0 + 99));
  assert.equal(store.get("t", "k", T0 + 100), undefined);
  store.set("t", "k", "2", 100, T0 + 100); // a new set starts a new life
  assert.equal(store.get("t", "k", T0 + 199)?.text, "2");
});

Deno.test("LruStore answers delete and clear for live entries only, dropping expired ones", () => {
  const store = new LruStore(ROOMY);
  store.set("t", "short", "1", 10, T0);
  store.set("t", "long", "1", 1000, T0);
  store.set("u", "long", "1", 1000, T0);
  assert.equal(store.delete("t", "short", T0 + 10), false);
  assert.equal(store.delete("t", "missing", T0), false);
  store.set("t", "short", "1", 10, T0);
  assert.equal(store.clear("t", T0 + 10), 1);
  assert.equal(store.clear("t", T0 + 10), 0);
  assert.deepEqual(keysOf(store), ["u/long"]);
  assert.equal(store.stats().expirations, 2);
});

Deno.test("LruStore prefers dropping an expired oldest entry, counted as an expiration", () => {
  const store = new LruStore({ ...ROOMY, maxEntries: 2 });
  store.set("t", "a", "1", 10, T0);
  store.set("t", "b", "1", 1000, T0);
  store.set("t", "c", "1", 1000, T0 + 10);
  assert.deepEqual(keysOf(store), ["t/b", "t/c"]);
  assert.deepEqual([store.stats().evictions, store.stats().expirations], [0, 1]);
});

Deno.test("LruStore sweeps expired entries on a set every SWEEP_EVERY sets, without gets", () => {
  const store = new LruStore({ maxEntries: 10_000, maxBytes: 10_000_000, maxEntryBytes: 1000 });
  for (let i = 0; i < 100; i++) store.set("t", `old${i}`, "1", 10, T0);
  for (let i = 0; i < SWEEP_EVERY - 101; i++) store.set("u", `k${i}`, "1", 1_000_000, T0 + 20);
  assert.equal(store.stats().entries, SWEEP_EVERY - 1, "not swept yet");
  store.set("u", "last", "1", 1_000_000, T0 + 20);
  assert.equal(store.stats().entries, SWEEP_EVERY - 100);
  assert.equal(store.stats().expirations, 100);
  assert.equal(store.stats().namespaces, 1);
  assert.equal(store.sweep(T0 + 2_000_000), SWEEP_EVERY - 100);
});

Deno.test("LruStore keeps tenants apart: same key, separate values, separate clears", () => {
  const store = new LruStore(ROOMY);
  store.set("acme", "k", '"acme answer"', 1000, T0);
  store.set("globex", "k", '"globex answer"', 1000, T0);
  assert.equal(store.get("acme", "k", T0)?.text, '"acme answer"');
  assert.equal(store.get("globex", "k", T0)?.text, '"globex answer"');
  assert.equal(store.clear("acme", T0), 1);
  assert.equal(store.get("acme", "k", T0), undefined);
  assert.equal(store.get("globex", "k", T0)?.text, '"globex answer"');
  assert.equal(store.delete("acme", "k", T0), false);
  assert.equal(store.stats().namespaces, 1);
});

Deno.test("LruStore refuses limits that are not positive integers, or an entry that cannot fit", () => {
  for (
    const limits of [
      { ...ROOMY, maxEntries: 0 },
      { ...ROOMY, maxBytes: 1.5 },
      { ...ROOMY, maxEntryBytes: Number.NaN },
      { maxEntries: 1, maxBytes: 10, maxEntryBytes: 11 },
    ]
  ) {
    assert.throws(() => new LruStore(limits), RangeError, JSON.stringify(limits));
  }
});
