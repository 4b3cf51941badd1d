/**
 * bin/cache-redis against the Redis deployments besides one plain server: a server that stops
 * answering (behind a relay the test pauses), a one-node Redis Cluster, a master found through
 * Redis Sentinel, and TLS with a private CA. Every server is a real redis-server on 127.0.0.1.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cacheProviderClient, checkHealth, type PluginProcess } from "@vulpes/contract/host";
import { startRedis, startSentinel } from "@vulpes/contract/testing";
import { makeTls, startPausableProxy } from "./_test_servers.ts";
import {
  completion,
  connected,
  eventually,
  inspect,
  type Logs,
  PASSWORD,
  start,
  unavailable,
} from "./_test_plugin.ts";

Deno.test("bin/cache-redis fails a call as unavailable when Redis stops answering, then recovers", async () => {
  await using redis = await startRedis();
  await using proxy = await startPausableProxy(redis.port);
  const logs: Logs = [];
  const plugin = await start(
    { url: `redis://127.0.0.1:${proxy.port}`, command_timeout_ms: 200 },
    logs,
  );
  try {
    await connected(plugin);
    const cache = cacheProviderClient(plugin);
    await cache.set({ namespace: "acme", key: "k", value: "kept" });
    proxy.pause();
    const timedOut = await unavailable(cache.get({ namespace: "acme", key: "k" }));
    assert.equal(timedOut.data.reason, "timeout");
    assert.match(timedOut.message, /did not answer within 200 ms/);
    await unavailable(cache.get({ namespace: "acme", key: "k" }));
    await unavailable(cache.get({ namespace: "acme", key: "k" }));
    // Three in a row: the plugin drops the connection and opens a new one.
    await eventually(() =>
      Promise.resolve(
        logs.some((r) => r.msg === "Redis stopped answering; reconnecting") || undefined,
      )
    );
    proxy.resume();
    const back = await eventually(async () => {
      const answer = await cache.get({ namespace: "acme", key: "k" });
      return answer.hit ? answer : undefined;
    });
    assert.equal(back.hit && back.value, "kept");
    const detail = (await checkHealth(plugin)).detail!;
    assert.ok((detail.redis as { replaced: number }).replaced >= 1);
  } finally {
    await plugin.shutdown();
  }
});

Deno.test("bin/cache-redis in cluster mode: a one-node Redis Cluster", async () => {
  await using redis = await startRedis({ args: ["--cluster-enabled", "yes"] });
  const raw = await inspect(redis);
  try {
    await raw.client.sendCommand(["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]);
    await eventually(async () =>
      (await raw.client.sendCommand(["CLUSTER", "INFO"]) as string).includes("cluster_state:ok") ||
      undefined
    );
    const plugin = await start({ url: redis.url, mode: "cluster" });
    try {
      await connected(plugin);
      const cache = cacheProviderClient(plugin);
      for (const namespace of ["acme", "globex"]) {
        for (const key of ["a", "b", "c"]) await cache.set({ namespace, key, value: namespace });
      }
      const hit = await cache.get({ namespace: "globex", key: "b" });
      assert.equal(hit.hit && hit.value, "globex");
      assert.deepEqual(await cache.clear({ namespace: "acme" }), { cleared: 3 });
      assert.equal((await cache.get({ namespace: "globex", key: "c" })).hit, true);
      assert.deepEqual(await cache.delete({ namespace: "globex", key: "c" }), { deleted: true });
      const keys = await raw.client.keys("vulpes:cache:*");
      assert.deepEqual(keys.sort(), ["vulpes:cache:{globex}:a", "vulpes:cache:{globex}:b"]);
      assert.equal((await checkHealth(plugin)).detail?.mode, "cluster");
    } finally {
      await plugin.shutdown();
    }
  } finally {
    await raw.close().catch(() => {});
  }
});

Deno.test("bin/cache-redis in sentinel mode: the master the sentinel names, with its password", async () => {
  const master = await startRedis({ password: PASSWORD });
  const sentinel = await startSentinel(master).catch(async (error) => {
    await master.close();
    throw error;
  });
  const logs: Logs = [];
  try {
    const plugin = await start({
      url: sentinel.url,
      mode: "sentinel",
      password: PASSWORD,
      sentinel: { master_name: sentinel.masterName },
    }, logs);
    try {
      await connected(plugin);
      const cache = cacheProviderClient(plugin);
      assert.deepEqual(await cache.set({ namespace: "acme", key: "k", value: completion }), {
        stored: true,
      });
      const hit = await cache.get({ namespace: "acme", key: "k" });
      assert.deepEqual(hit.hit && hit.value, completion);
      assert.deepEqual(await cache.clear({ namespace: "acme" }), { cleared: 1 });
      const raw = await inspect(master);
      try {
        assert.equal(await raw.client.exists("vulpes:cache:{acme}:k"), 0);
      } finally {
        await raw.close();
      }
      assert.equal((await checkHealth(plugin)).detail?.mode, "sentinel");
    } finally {
      await plugin.shutdown();
    }
    assert.ok(!JSON.stringify(logs).includes(PASSWORD));
  } finally {
    await sentinel.close();
    await master.close();
  }
});

Deno.test("bin/cache-redis over TLS (rediss://) trusts the CA given in tls.ca, and only it", async () => {
  await using tls = await makeTls();
  await using _redis = await startRedis({ args: tls.args });
  const url = `rediss://127.0.0.1:${tls.port}`;
  const plugins: PluginProcess[] = [];
  try {
    const trusted = await start({ url, tls: { ca: tls.certificate } });
    plugins.push(trusted);
    const untrusted = await start({ url });
    plugins.push(untrusted);
    await connected(trusted);
    const cache = cacheProviderClient(trusted);
    assert.deepEqual(await cache.set({ namespace: "acme", key: "k", value: "over TLS" }), {
      stored: true,
    });
    const hit = await cache.get({ namespace: "acme", key: "k" });
    assert.equal(hit.hit && hit.value, "over TLS");
    // Not trusted: unavailable, and once the handshake has failed, the health says why.
    await eventually(async () => {
      const health = await checkHealth(untrusted);
      assert.equal(health.status, "unavailable");
      return /certificate/i.test(String(health.detail?.error)) || undefined;
    });
  } finally {
    await Promise.all(plugins.map((plugin) => plugin.shutdown()));
  }
});
