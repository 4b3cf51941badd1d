import assert from "node:assert/strict";
import { LocalTier } from "./_local.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");

function tier(ttlMs = 1000) {
  return new LocalTier({ maxEntries: 10, maxBytes: 16_000, ttlMs });
}

Deno.test("LocalTier keeps an entry for its local TTL and reports the original stored-at", () => {
  const local = tier(1000);
  local.set("acme", "k", { text: '{"a":1}', storedAt: T0 - 5000, expiresAt: T0 + 60_000 }, T0);
  assert.deepEqual(local.get("acme", "k", T0 + 999), { text: '{"a":1}', storedAt: T0 - 5000 });
  assert.equal(local.get("acme", "k", T0 + 1000), undefined);
});

Deno.test("LocalTier never keeps an entry past its expiry in Redis", () => {
  const local = tier(1000);
  local.set("acme", "k", { text: "1", storedAt: T0, expiresAt: T0 + 300 }, T0);
  assert.ok(local.get("acme", "k", T0 + 299));
  assert.equal(local.get("acme", "k", T0 + 300), undefined);
  local.set("acme", "gone", { text: "1", storedAt: T0, expiresAt: T0 }, T0);
  assert.equal(local.get("acme", "gone", T0), undefined);
});

Deno.test("LocalTier drops the older copy when a newer entry cannot be kept", () => {
  const local = tier(1000);
  local.set("acme", "k", { text: "old", storedAt: T0, expiresAt: T0 + 60_000 }, T0);
  local.set("acme", "k", { text: "new", storedAt: T0, expiresAt: T0 - 1 }, T0);
  assert.equal(local.get("acme", "k", T0), undefined);
  local.set("acme", "k", { text: "old", storedAt: T0, expiresAt: T0 + 60_000 }, T0);
  // Over a sixteenth of max_bytes (1000 bytes): too large for the tier.
  local.set("acme", "k", { text: "x".repeat(1000), storedAt: T0, expiresAt: T0 + 60_000 }, T0);
  assert.equal(local.get("acme", "k", T0), undefined);
  assert.equal(local.stats(T0).too_large, 1);
});

Deno.test("LocalTier deletes one entry or a whole namespace, and counts in stats()", () => {
  const local = tier();
  for (const namespace of ["acme", "globex"]) {
    for (const key of ["a", "b"]) {
      local.set(namespace, key, { text: "1", storedAt: T0, expiresAt: T0 + 60_000 }, T0);
    }
  }
  local.delete("acme", "a", T0);
  local.clear("globex", T0);
  assert.equal(local.get("acme", "a", T0), undefined);
  assert.equal(local.get("globex", "b", T0), undefined);
  assert.ok(local.get("acme", "b", T0));
  const stats = local.stats(T0 + 5000);
  assert.equal(stats.entries, 0, "the sweep drops what expired");
  assert.equal(stats.hits, 1);
});
