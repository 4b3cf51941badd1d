import assert from "node:assert/strict";
import { servePlugin } from "@vulpes/contract/plugin";
import { createLinkedPair, Peer, RpcError } from "@vulpes/contract/protocol";
import { startRedis } from "@vulpes/contract/testing";
import { plugin } from "./mod.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");

Deno.test("the plugin caches in Redis over the protocol in memory, with the runtime's clock", async () => {
  await using redis = await startRedis();
  let now = T0;
  const logs: string[] = [];
  const [core, side] = createLinkedPair();
  const served = servePlugin(plugin, side, {
    writeLog: (line) => logs.push(line),
    context: { now: () => now },
  });
  const host = new Peer(core);
  await host.start();
  try {
    await host.request("initialize", {
      protocol_version: "1",
      instance: "cache",
      capabilities: ["cache_provider"],
      config: { url: redis.url, local: { ttl_ms: 500 } },
      settings: { capture_payloads: false },
    });
    while ((await host.request("health") as { status: string }).status !== "ok") {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.deepEqual(
      await host.request("cache.set", { namespace: "acme", key: "k", value: { a: "ü" } }),
      { stored: true },
    );
    now += 1234;
    // The local copy (500 ms) is too old: Redis answers, with the age since the set.
    assert.deepEqual(await host.request("cache.get", { namespace: "acme", key: "k" }), {
      hit: true,
      value: { a: "ü" },
      age_ms: 1234,
    });
    now += 100;
    assert.deepEqual(await host.request("cache.get", { namespace: "acme", key: "k" }), {
      hit: true,
      value: { a: "ü" },
      age_ms: 1334,
    });
    const bad = await host.request("cache.set", { namespace: "acme", key: "k" }).then(
      () => null,
      (e) => e,
    );
    assert.ok(bad instanceof RpcError && bad.code === -32602, String(bad));
    const health = await host.request("health") as {
      status: string;
      detail: Record<string, unknown>;
    };
    assert.equal(health.status, "ok");
    assert.deepEqual(
      { ...health.detail, redis: { ...health.detail.redis as object, ping_ms: 0 } },
      {
        mode: "standalone",
        nodes: [`127.0.0.1:${redis.port}`],
        redis: { connected: true, replaced: 0, failures: 0, timeouts: 0, ping_ms: 0 },
        hits: 2,
        local_hits: 1,
        misses: 0,
        stores: 1,
        too_large: 0,
        corrupt: 0,
        local: {
          entries: 1,
          bytes: 29, // "<stored at> " (14) + {"a":"ü"} (10) + acme (4) + k (1)
          namespaces: 1,
          hits: 1,
          misses: 1,
          evictions: 0,
          expirations: 1,
          too_large: 0,
        },
      },
    );
    await host.request("shutdown");
    await served.done;
  } finally {
    await host.close();
  }
  assert.ok(logs.some((line) => line.includes('"msg":"connected to Redis"')));
});
