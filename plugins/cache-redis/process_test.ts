/**
 * bin/cache-redis as the core runs it, against a real standalone Redis started by the tests
 * (`startRedis` from lib/testing): permissions, the conformance check, the cache methods,
 * TTLs, tenants, the entry limit, the local tier, two processes sharing one Redis, Redis
 * stopping and starting under a running plugin, Redis down at start, a wrong password, and
 * secrets. deployments_test.ts covers a server that stops answering, Cluster, Sentinel and TLS.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cacheProviderClient, checkHealth, type PluginProcess } from "@vulpes/contract/host";
import { startRedis } from "@vulpes/contract/testing";
import {
  assertConformant,
  assertDescribedPermissions,
  declaredFlags,
} from "../../tests/_support.ts";
import { FORMAT_GZIP, FORMAT_PLAIN } from "./_codec.ts";
import {
  BINARY,
  completion,
  connected,
  eventually,
  inspect,
  type Logs,
  PASSWORD,
  start,
  unavailable,
} from "./_test_plugin.ts";

Deno.test("bin/cache-redis declares network only, and --describe reports just that", async () => {
  const flags = declaredFlags("cache-redis");
  assert.deepEqual(flags, ["--no-prompt", "--allow-net"]);
  await assertDescribedPermissions(BINARY, {
    capabilities: ["cache_provider"],
    granted: { net: "all" },
  });
});

Deno.test("bin/cache-redis serves the cache contract from a real Redis", async (t) => {
  await using redis = await startRedis({ password: PASSWORD });
  const raw = await inspect(redis);
  const logs: Logs = [];
  const plugins: PluginProcess[] = [];
  try {
    await t.step("passes the conformance check, with the password in the URL", async () => {
      await assertConformant(BINARY, { config: { url: redis.url } });
    });

    const plugin = await start({ url: redis.url, prefix: "t:" }, logs);
    plugins.push(plugin);
    const cache = cacheProviderClient(plugin);
    await connected(plugin);

    await t.step("gets, sets, deletes and clears, as cache-memory answers", async () => {
      assert.deepEqual(await cache.get({ namespace: "acme", key: "k1" }), { hit: false });
      assert.deepEqual(await cache.set({ namespace: "acme", key: "k1", value: completion }), {
        stored: true,
      });
      const hit = await cache.get({ namespace: "acme", key: "k1" });
      assert.ok(hit.hit);
      assert.deepEqual(hit.value, completion);
      assert.ok(hit.age_ms >= 0);
      await cache.set({ namespace: "acme", key: "k2", value: [1, "ü", null] });
      assert.deepEqual(await cache.delete({ namespace: "acme", key: "k1" }), { deleted: true });
      assert.deepEqual(await cache.delete({ namespace: "acme", key: "k1" }), { deleted: false });
      assert.deepEqual(await cache.clear({ namespace: "acme" }), { cleared: 1 });
      assert.deepEqual(await cache.get({ namespace: "acme", key: "k2" }), { hit: false });
    });

    await t.step(
      "stores <prefix>{<namespace>}:<key> with a PX TTL, compressed when large",
      async () => {
        await cache.set({ namespace: "acme", key: "big", value: completion, ttl_ms: 60_000 });
        await cache.set({ namespace: "acme", key: "small", value: 1 });
        assert.deepEqual((await raw.client.keys("t:*")).sort(), ["t:{acme}:big", "t:{acme}:small"]);
        const ttl = await raw.client.pTTL("t:{acme}:big");
        assert.ok(ttl > 0 && ttl <= 60_000, `PTTL ${ttl}`);
        const big = await raw.binary.get("t:{acme}:big");
        const small = await raw.binary.get("t:{acme}:small");
        assert.equal(big![0], FORMAT_GZIP);
        assert.ok(big!.length < JSON.stringify(completion).length / 4, `${big!.length} bytes`);
        assert.equal(small![0], FORMAT_PLAIN);
        assert.ok((await raw.client.pTTL("t:{acme}:small")) > 60_000, "default_ttl_ms: 300000");
        await cache.clear({ namespace: "acme" });
      },
    );

    await t.step("an entry expires with its ttl_ms", async () => {
      await cache.set({ namespace: "acme", key: "brief", value: "soon gone", ttl_ms: 150 });
      await eventually(async () =>
        (await cache.get({ namespace: "acme", key: "brief" })).hit === false || undefined
      );
      assert.equal(await raw.client.exists("t:{acme}:brief"), 0);
    });

    await t.step(
      "keeps tenants apart, even when namespace and key could be joined alike",
      async () => {
        await cache.set({ namespace: "a:b", key: "c", value: "tenant a:b" });
        assert.deepEqual(await cache.get({ namespace: "a", key: "b:c" }), { hit: false });
        await cache.set({ namespace: "a", key: "b:c", value: "tenant a" });
        await cache.set({ namespace: "a*", key: "k", value: "tenant a*" });
        await cache.set({ namespace: "ab", key: "k", value: "tenant ab" });
        await cache.set({ namespace: "x}{y", key: "k", value: "tenant x}{y" });
        await cache.set({ namespace: "x", key: "}{y:k", value: "tenant x" });
        const values = [];
        for (
          const [namespace, key] of [["a:b", "c"], ["a", "b:c"], ["a*", "k"], ["ab", "k"], [
            "x}{y",
            "k",
          ], ["x", "}{y:k"]]
        ) {
          const answer = await cache.get({ namespace: namespace!, key: key! });
          values.push(answer.hit ? answer.value : null);
        }
        assert.deepEqual(values, [
          "tenant a:b",
          "tenant a",
          "tenant a*",
          "tenant ab",
          "tenant x}{y",
          "tenant x",
        ]);
        // A glob character in a tenant's name clears that tenant only.
        assert.deepEqual(await cache.clear({ namespace: "a*" }), { cleared: 1 });
        const ab = await cache.get({ namespace: "ab", key: "k" });
        assert.equal(ab.hit && ab.value, "tenant ab");
        for (const namespace of ["a:b", "a", "ab", "x}{y", "x"]) await cache.clear({ namespace });
      },
    );

    await t.step("clears a tenant of many keys, page by page, and no other", async () => {
      const many = Array.from({ length: 1200 }, (_, i) => i);
      await Promise.all(many.map((i) => cache.set({ namespace: "bulk", key: `k${i}`, value: i })));
      await cache.set({ namespace: "bulk2", key: "k1", value: "stays" });
      assert.deepEqual(await cache.clear({ namespace: "bulk" }), { cleared: 1200 });
      assert.deepEqual(await cache.clear({ namespace: "bulk" }), { cleared: 0 });
      assert.equal((await cache.get({ namespace: "bulk2", key: "k1" })).hit, true);
      await cache.clear({ namespace: "bulk2" });
    });

    await t.step(
      "refuses an entry over max_entry_bytes and removes what the key held",
      async () => {
        const small = await start({ url: redis.url, prefix: "t:", max_entry_bytes: 512 }, logs);
        plugins.push(small);
        const limited = cacheProviderClient(small);
        await connected(small);
        assert.deepEqual(await limited.set({ namespace: "acme", key: "k", value: "fits" }), {
          stored: true,
        });
        assert.deepEqual(
          await limited.set({ namespace: "acme", key: "k", value: "x".repeat(600) }),
          { stored: false },
        );
        assert.deepEqual(await limited.get({ namespace: "acme", key: "k" }), { hit: false });
        assert.equal((await checkHealth(small)).detail?.too_large, 1);
      },
    );

    await t.step("two plugin processes share one Redis", async () => {
      const other = await start({ url: redis.url, prefix: "t:" }, logs);
      plugins.push(other);
      await connected(other);
      await cache.set({ namespace: "acme", key: "shared", value: completion });
      const seen = await cacheProviderClient(other).get({ namespace: "acme", key: "shared" });
      assert.ok(seen.hit);
      assert.deepEqual(seen.value, completion);
      await cacheProviderClient(other).delete({ namespace: "acme", key: "shared" });
      assert.deepEqual(await cache.get({ namespace: "acme", key: "shared" }), { hit: false });
    });

    await t.step(
      "the local tier serves its copy for its ttl_ms; without it, changes show at once",
      async () => {
        const withLocal = await start(
          { url: redis.url, prefix: "t:", local: { max_entries: 10, ttl_ms: 60_000 } },
          logs,
        );
        plugins.push(withLocal);
        await connected(withLocal);
        const near = cacheProviderClient(withLocal);
        await cache.set({ namespace: "acme", key: "v", value: "first" });
        assert.equal((await near.get({ namespace: "acme", key: "v" })).hit, true); // fills the tier
        await cache.set({ namespace: "acme", key: "v", value: "second" }); // by another instance
        const stale = await near.get({ namespace: "acme", key: "v" });
        assert.equal(stale.hit && stale.value, "first", "the documented staleness, up to ttl_ms");
        const fresh = await cache.get({ namespace: "acme", key: "v" });
        assert.equal(fresh.hit && fresh.value, "second", "no local tier: Redis answers");
        // Its own writes and deletes go through at once.
        await near.set({ namespace: "acme", key: "v", value: "third" });
        const own = await near.get({ namespace: "acme", key: "v" });
        assert.equal(own.hit && own.value, "third");
        const health = await checkHealth(withLocal);
        assert.equal(health.detail?.local_hits, 2);
        assert.equal((health.detail?.local as Record<string, number>).entries, 1);
        assert.equal((await checkHealth(plugin)).detail?.local, null);
      },
    );

    await t.step(
      "Redis stopping: unavailable at once; started again: works, same process",
      async () => {
        const pid = plugin.pid;
        await cache.set({ namespace: "acme", key: "before", value: 1 });
        await redis.stop();
        const down = await unavailable(cache.get({ namespace: "acme", key: "before" }));
        assert.notEqual(down.data.reason, "timeout", down.message);
        await unavailable(cache.set({ namespace: "acme", key: "k", value: 1 }));
        await unavailable(cache.clear({ namespace: "acme" }));
        const health = await checkHealth(plugin);
        assert.equal(health.status, "unavailable");
        assert.equal((health.detail?.redis as Record<string, unknown>).connected, false);
        await redis.start();
        // The restarted server has no keys: a miss, once reconnected.
        await eventually(async () => {
          const answer = await cache.get({ namespace: "acme", key: "before" });
          return answer.hit === false ? true : undefined;
        });
        assert.deepEqual(await cache.set({ namespace: "acme", key: "after", value: 2 }), {
          stored: true,
        });
        const after = await cache.get({ namespace: "acme", key: "after" });
        assert.equal(after.hit && after.value, 2);
        assert.equal(plugin.pid, pid);
        assert.equal((await checkHealth(plugin)).status, "ok");
        await eventually(() =>
          Promise.resolve(
            logs.some((r) => r.msg === "lost the connection to Redis; reconnecting") || undefined,
          )
        );
      },
    );
  } finally {
    await Promise.all(plugins.map((plugin) => plugin.shutdown()));
    await raw.close().catch(() => {});
  }

  await t.step("secrets appear in no log line", () => {
    const text = JSON.stringify(logs);
    assert.ok(!text.includes(PASSWORD), "the password is in a log line");
    assert.ok(logs.some((r) => r.msg === "connected to Redis"));
    assert.deepEqual(logs.filter((r) => r.level === "error"), []);
  });
});

Deno.test("bin/cache-redis with the password as its own field: a wrong one is unavailable, unnamed", async () => {
  await using redis = await startRedis({ password: PASSWORD });
  const logs: Logs = [];
  const url = `redis://127.0.0.1:${redis.port}`;
  const plugins: PluginProcess[] = [];
  try {
    const wrong = await start({ url, password: "wrong-Secret-pw-1234" }, logs);
    plugins.push(wrong);
    const right = await start({ url, password: PASSWORD }, logs);
    plugins.push(right);
    await connected(right);
    const cache = cacheProviderClient(right);
    assert.deepEqual(await cache.set({ namespace: "acme", key: "k", value: 1 }), { stored: true });
    const health = await checkHealth(wrong);
    assert.equal(health.status, "unavailable");
    const error = await unavailable(
      cacheProviderClient(wrong).get({ namespace: "acme", key: "k" }),
    );
    const text = JSON.stringify([health, error.message, error.data, logs]);
    assert.ok(!text.includes("wrong-Secret-pw-1234") && !text.includes(PASSWORD), text);
  } finally {
    await Promise.all(plugins.map((plugin) => plugin.shutdown()));
  }
});

Deno.test("bin/cache-redis starts while Redis is down, and answers unavailable without waiting", async () => {
  const logs: Logs = [];
  const plugin = await start({ url: "redis://:down-Secret-pw@127.0.0.1:1", local: {} }, logs);
  try {
    const cache = cacheProviderClient(plugin);
    const error = await unavailable(cache.get({ namespace: "acme", key: "k" }));
    assert.match(
      error.message,
      /^Cannot read the cache: not connected to Redis \(127\.0\.0\.1:1\)/,
    );
    await unavailable(cache.set({ namespace: "acme", key: "k", value: 1 }));
    const health = await checkHealth(plugin);
    assert.equal(health.status, "unavailable");
    assert.ok(!JSON.stringify([health, logs]).includes("down-Secret-pw"));
  } finally {
    await plugin.shutdown();
  }
});
