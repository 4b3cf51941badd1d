import assert from "node:assert/strict";
import { LruCache } from "./_cache.ts";

Deno.test("LruCache evicts the least recently used entry when full", () => {
  const cache = new LruCache<number>(2);
  cache.set("a", 1, 0);
  cache.set("b", 2, 0);
  assert.equal(cache.get("a")?.value, 1); // a is now the most recent
  cache.set("c", 3, 0);
  assert.equal(cache.get("b"), undefined);
  assert.equal(cache.get("a")?.value, 1);
  assert.equal(cache.get("c")?.value, 3);
  assert.equal(cache.size, 2);
});

Deno.test("LruCache keeps storedAt, deletes and clears", () => {
  const cache = new LruCache<string | null>(10);
  cache.set("x", null, 42);
  assert.deepEqual(cache.get("x"), { value: null, storedAt: 42 });
  cache.delete("x");
  assert.equal(cache.get("x"), undefined);
  cache.set("y", "v", 1);
  cache.clear();
  assert.equal(cache.size, 0);
});

Deno.test("LruCache with size 0 stores nothing", () => {
  const cache = new LruCache<number>(0);
  cache.set("a", 1, 0);
  assert.equal(cache.size, 0);
});
