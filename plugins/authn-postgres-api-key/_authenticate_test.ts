import assert from "node:assert/strict";
import { PluginError } from "@vulpes/contract/plugin";
import { type AuthenticatorOptions, createAuthenticator } from "./_authenticate.ts";
import { type KeyRow, sha256Hex } from "./_keys.ts";

const KEY = "sk-test-key-1";
const row: KeyRow = {
  id: "k1",
  prefix: "sk-test-ke",
  subject: "alice",
  tenant: null,
  groups: [],
  models: null,
  expires_at: null,
  revoked_at: null,
  metadata: null,
};
const params = (key: string) => ({
  credentials: { api_key: key },
  request: { method: "POST", path: "/v1/chat/completions" },
});

function setup(overrides: Partial<AuthenticatorOptions> = {}) {
  const state = {
    now: 1_000_000,
    rows: new Map([[sha256Hex(KEY), row]]),
    down: false,
    lookups: 0,
    used: [] as [string, number][],
    trusted: true,
  };
  const authenticator = createAuthenticator({
    lookup(digest) {
      state.lookups++;
      if (state.down) return Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:5432"));
      return Promise.resolve(state.rows.get(digest) ?? null);
    },
    markUsed: (id, at) => state.used.push([id, at]),
    now: () => state.now,
    cacheTrusted: () => state.trusted,
    prefixes: ["sk-"],
    maxEntries: 100,
    ttlMs: 1_000,
    negativeTtlMs: 100,
    staleIfErrorMs: 0,
    ...overrides,
  });
  return { state, authenticator };
}

Deno.test("authenticate() caches found keys for ttlMs and unknown ones for negativeTtlMs", async () => {
  const { state, authenticator } = setup();
  assert.equal((await authenticator.authenticate(params(KEY))).decision, "allow");
  assert.equal((await authenticator.authenticate(params(KEY))).decision, "allow");
  assert.equal((await authenticator.authenticate(params("sk-nope"))).decision, "deny");
  assert.equal((await authenticator.authenticate(params("sk-nope"))).decision, "deny");
  assert.equal(state.lookups, 2);
  state.now += 500; // negative entry expired, positive still fresh
  await authenticator.authenticate(params("sk-nope"));
  await authenticator.authenticate(params(KEY));
  assert.equal(state.lookups, 3);
  state.now += 600;
  await authenticator.authenticate(params(KEY));
  assert.equal(state.lookups, 4);
  assert.deepEqual(state.used.map(([id]) => id), ["k1", "k1", "k1", "k1"]);
});

Deno.test("authenticate() looks up again after invalidate() and invalidateAll()", async () => {
  const { state, authenticator } = setup();
  await authenticator.authenticate(params(KEY));
  state.rows.set(sha256Hex(KEY), { ...row, revoked_at: new Date(0) });
  assert.equal((await authenticator.authenticate(params(KEY))).decision, "allow"); // cached
  authenticator.invalidate(sha256Hex(KEY));
  assert.equal((await authenticator.authenticate(params(KEY))).decision, "deny");
  state.rows.set(sha256Hex(KEY), row);
  authenticator.invalidateAll();
  assert.equal((await authenticator.authenticate(params(KEY))).decision, "allow");
  assert.equal(authenticator.cacheSize, 1);
});

Deno.test("authenticate() does not cache a lookup that raced an invalidation", async () => {
  let release: (row: KeyRow | null) => void = () => {};
  let lookups = 0;
  const { authenticator } = setup({
    lookup() {
      lookups++;
      return new Promise((resolve) => release = resolve);
    },
  });
  const pending = authenticator.authenticate(params(KEY));
  authenticator.invalidate(sha256Hex(KEY));
  release(row);
  await pending;
  const again = authenticator.authenticate(params(KEY));
  release(row);
  await again;
  assert.equal(lookups, 2);
});

Deno.test("authenticate() shares one lookup between concurrent calls", async () => {
  const { state, authenticator } = setup();
  await Promise.all([1, 2, 3].map(() => authenticator.authenticate(params(KEY))));
  assert.equal(state.lookups, 1);
});

Deno.test("authenticate() bypasses fresh entries while the cache is not trusted", async () => {
  const { state, authenticator } = setup();
  await authenticator.authenticate(params(KEY));
  state.trusted = false;
  await authenticator.authenticate(params(KEY));
  assert.equal(state.lookups, 2);
});

Deno.test("authenticate() is unavailable when the database is down and nothing stale may serve", async () => {
  const { state, authenticator } = setup();
  await authenticator.authenticate(params(KEY));
  state.down = true;
  state.now += 2_000;
  const error = await authenticator.authenticate(params(KEY)).then(() => null, (e) => e);
  assert.ok(error instanceof PluginError);
  assert.equal(error.type, "unavailable");
  assert.equal(
    error.message,
    "Cannot look up API key: the database did not answer: connect ECONNREFUSED 127.0.0.1:5432",
  );
  state.down = false;
  assert.equal((await authenticator.authenticate(params(KEY))).decision, "allow");
});

Deno.test("authenticate() serves a found key within stale_if_error, never an unknown one", async () => {
  const stale: unknown[] = [];
  const { state, authenticator } = setup({
    staleIfErrorMs: 5_000,
    onStale: (error) => stale.push(error),
  });
  await authenticator.authenticate(params(KEY));
  await authenticator.authenticate(params("sk-unknown"));
  state.down = true;
  state.now += 5_999; // ttl 1000 + stale 5000
  assert.equal((await authenticator.authenticate(params(KEY))).decision, "allow");
  assert.equal(stale.length, 1);
  await assert.rejects(authenticator.authenticate(params("sk-unknown")), PluginError);
  state.now += 1;
  await assert.rejects(authenticator.authenticate(params(KEY)), PluginError);
});

Deno.test("authenticate() abstains and denies malformed keys without a lookup", async () => {
  const { state, authenticator } = setup();
  assert.deepEqual(await authenticator.authenticate(params("pk-foreign")), {
    decision: "abstain",
  });
  assert.equal((await authenticator.authenticate(params("sk-a b"))).decision, "deny");
  assert.equal(state.lookups, 0);
});
