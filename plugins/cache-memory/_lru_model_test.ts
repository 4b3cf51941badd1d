/**
 * The store against a reference model: the same operations, with a clock, on an array kept
 * least recently used first and scanned on every operation, which is slow and obviously right.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { LruStore } from "./_lru.ts";

const T0 = 1_000_000;

/** Every entry the store holds, expired ones not yet dropped included. */
function heldBy(store: LruStore): string[] {
  return [...store.keys()].map(([namespace, key, expiresAt]) => `${namespace}/${key}@${expiresAt}`);
}

/** The reference: an array, least recently used first, scanned on every operation. */
class ModelCache {
  entries: { ns: string; key: string; text: string; size: number; expiresAt: number }[] = [];
  constructor(readonly limits: { maxEntries: number; maxBytes: number; maxEntryBytes: number }) {}
  #find(ns: string, key: string, now: number): number {
    const index = this.entries.findIndex((e) => e.ns === ns && e.key === key);
    if (index !== -1 && now >= this.entries[index]!.expiresAt) {
      this.entries.splice(index, 1);
      return -1;
    }
    return index;
  }
  get(ns: string, key: string, now: number): string | undefined {
    const index = this.#find(ns, key, now);
    if (index === -1) return undefined;
    const [entry] = this.entries.splice(index, 1);
    this.entries.push(entry!);
    return entry!.text;
  }
  set(ns: string, key: string, text: string, ttl: number, now: number): boolean {
    this.entries = this.entries.filter((e) => !(e.ns === ns && e.key === key));
    const size = new TextEncoder().encode(text + ns + key).length;
    if (size > this.limits.maxEntryBytes) return false;
    this.entries.push({ ns, key, text, size, expiresAt: now + ttl });
    const bytes = () => this.entries.reduce((sum, e) => sum + e.size, 0);
    while (this.entries.length > this.limits.maxEntries || bytes() > this.limits.maxBytes) {
      this.entries.shift();
    }
    return true;
  }
  delete(ns: string, key: string, now: number): boolean {
    const index = this.#find(ns, key, now);
    if (index !== -1) this.entries.splice(index, 1);
    return index !== -1;
  }
  clear(ns: string, now: number): number {
    const live = this.entries.filter((e) => e.ns === ns && now < e.expiresAt).length;
    this.entries = this.entries.filter((e) => e.ns !== ns);
    return live;
  }
  sweep(now: number): number {
    const before = this.entries.length;
    this.entries = this.entries.filter((e) => now < e.expiresAt);
    return before - this.entries.length;
  }
  held(): string[] {
    return this.entries.map((e) => `${e.ns}/${e.key}@${e.expiresAt}`);
  }
}

const operation = fc.oneof(
  fc.record({
    op: fc.constant("set" as const),
    ns: fc.constantFrom("a", "a:b", "é"),
    key: fc.constantFrom("b:c", "c", "k", "😀"),
    text: fc.string({ maxLength: 30, unit: "grapheme" }),
    ttl: fc.integer({ min: 1, max: 50 }),
  }),
  fc.record({
    op: fc.constantFrom("get" as const, "delete" as const),
    ns: fc.constantFrom("a", "a:b", "é"),
    key: fc.constantFrom("b:c", "c", "k", "😀"),
  }),
  fc.record({ op: fc.constant("clear" as const), ns: fc.constantFrom("a", "a:b", "é") }),
  fc.record({ op: fc.constant("tick" as const), ms: fc.integer({ min: 0, max: 30 }) }),
  fc.record({ op: fc.constant("sweep" as const) }),
);

Deno.test("LruStore agrees with a reference model over random operation sequences", () => {
  fc.assert(
    fc.property(
      fc.record({
        maxEntries: fc.integer({ min: 1, max: 6 }),
        maxBytes: fc.integer({ min: 40, max: 150 }),
        maxEntryBytes: fc.integer({ min: 1, max: 40 }),
      }),
      fc.array(operation, { maxLength: 120 }),
      (limits, operations) => {
        const store = new LruStore(limits);
        const model = new ModelCache(limits);
        let now = T0;
        for (const o of operations) {
          if (o.op === "tick") now += o.ms;
          else if (o.op === "sweep") assert.equal(store.sweep(now), model.sweep(now));
          else if (o.op === "set") {
            assert.equal(
              store.set(o.ns, o.key, o.text, o.ttl, now),
              model.set(o.ns, o.key, o.text, o.ttl, now),
            );
          } else if (o.op === "get") {
            assert.equal(store.get(o.ns, o.key, now)?.text, model.get(o.ns, o.key, now));
          } else if (o.op === "delete") {
            assert.equal(store.delete(o.ns, o.key, now), model.delete(o.ns, o.key, now));
          } else assert.equal(store.clear(o.ns, now), model.clear(o.ns, now));
          // Both drop expired entries lazily, at the same moments, so they hold the same ones.
          assert.deepEqual(heldBy(store), model.held());
          assert.equal(store.stats().bytes, model.entries.reduce((sum, e) => sum + e.size, 0));
          assert.ok(store.stats().bytes <= limits.maxBytes);
          assert.ok(store.stats().entries <= limits.maxEntries);
        }
      },
    ),
    { numRuns: 500 },
  );
});
