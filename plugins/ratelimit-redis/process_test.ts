import assert from "node:assert/strict";
import { checkHealth, PluginProcess, rateLimiterClient } from "@vulpes/contract/host";
import { PluginError } from "@vulpes/contract/protocol";
import { startRedis, type TestRedis } from "@vulpes/contract/testing";
import {
  assertConfigRefused,
  assertConformant,
  assertDescribedPermissions,
  declaredFlags,
  inOneWindow,
  pluginBinary,
} from "../../tests/_support.ts";

const BINARY = pluginBinary("ratelimit-redis");
const HOUR = 3_600_000;

interface Started {
  plugin: PluginProcess;
  logs: Record<string, unknown>[];
}

async function start(redis: TestRedis, config: Record<string, unknown>): Promise<Started> {
  const logs: Record<string, unknown>[] = [];
  const plugin = await PluginProcess.start({
    command: BINARY,
    instance: "limits",
    capabilities: ["rate_limiter"],
    config: { url: redis.url, prefix: `t${crypto.randomUUID()}:`, ...config },
    onLog: (record) => logs.push(record),
    restart: false,
  });
  return { plugin, logs };
}

/** Two processes of one config, started together; when one fails, the other is shut down. */
async function startTwo(
  redis: TestRedis,
  config: Record<string, unknown>,
): Promise<[Started, Started]> {
  const [a, b] = await Promise.allSettled([start(redis, config), start(redis, config)]);
  if (a.status === "fulfilled" && b.status === "fulfilled") return [a.value, b.value];
  for (const result of [a, b]) {
    if (result.status === "fulfilled") await result.value.plugin.shutdown();
  }
  throw a.status === "rejected" ? a.reason : (b as PromiseRejectedResult).reason;
}

/** Calls `attempt` until it resolves (Redis reconnects in the background), at most 20 s. */
async function eventually<T>(attempt: () => Promise<T>): Promise<T> {
  for (let i = 0;; i++) {
    try {
      return await attempt();
    } catch (error) {
      if (i >= 200) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

Deno.test("bin/ratelimit-redis passes the conformance check, and its password appears nowhere", async () => {
  const redis = await startRedis({ password: "conformance-redis-password" });
  try {
    const config = {
      url: `redis://127.0.0.1:${redis.port}`,
      password: redis.password,
      rules: [{ name: "rpm", window: "1m", requests: 10 }],
    };
    const report = await assertConformant(BINARY, { config });
    assert.ok(report.checks.some((check) => /no secret/.test(check.name)));
  } finally {
    await redis.close();
  }
});

Deno.test("bin/ratelimit-redis has network access only, as declared and as described", async () => {
  assert.deepEqual(declaredFlags("ratelimit-redis"), ["--no-prompt", "--allow-net"]);
  const manifest = await assertDescribedPermissions(BINARY, {
    capabilities: ["rate_limiter"],
    granted: { net: "all" },
  });
  const schema = JSON.stringify(manifest.config_schema);
  assert.match(schema, /"url":\{[^}]*"x-vulpes-secret":true/);
});

Deno.test("two bin/ratelimit-redis processes sharing one Redis admit exactly the limit under concurrent load", async () => {
  await using redis = await startRedis();
  const prefix = `shared${crypto.randomUUID()}:`;
  const config = {
    prefix,
    rules: [
      { name: "everyone", key_by: [], window: "1h", requests: 300 },
      { name: "per-tenant-tokens", key_by: ["tenant"], window: "1h", tokens: 30_000 },
    ],
  };
  const [a, b] = await startTwo(redis, config);
  try {
    const clients = [rateLimiterClient(a.plugin), rateLimiterClient(b.plugin)];
    await inOneWindow(HOUR, async (tenant) => {
      // `everyone` is one window for every caller (fresh: the prefix is new); a retry after
      // an hour edge starts in the next one.
      const answers = await Promise.all(
        clients.flatMap((client) =>
          Array.from(
            { length: 500 },
            (_, i) => client.acquire({ subject: `s${i}`, tenant, model: "m", estimated_tokens: 0 }),
          )
        ),
      );
      const admitted = answers.filter((answer) => answer.allowed);
      assert.equal(admitted.length, 300);
      const remaining = admitted.map((answer) => answer.limits[0]!.remaining);
      assert.deepEqual(remaining.sort((x, y) => x - y), Array.from({ length: 300 }, (_, i) => i));
      const refused = answers.filter((answer) => !answer.allowed);
      assert.ok(refused.every((answer) => answer.retry_after_ms! > 0));
    });
  } finally {
    await Promise.all([a.plugin.shutdown(), b.plugin.shutdown()]);
  }
});

Deno.test("two bin/ratelimit-redis processes charge one token budget exactly, and settle each other's reservations", async () => {
  await using redis = await startRedis();
  const config = {
    prefix: `tokens${crypto.randomUUID()}:`,
    rules: [{ name: "tenant-tokens", key_by: ["tenant"], window: "1h", tokens: 30_000 }],
  };
  const [a, b] = await startTwo(redis, config);
  try {
    const [ca, cb] = [rateLimiterClient(a.plugin), rateLimiterClient(b.plugin)];
    await inOneWindow(HOUR, async (tenant) => {
      // 1000 tokens each: the 30th leaves exactly 0; nothing after it is admitted.
      const answers = await Promise.all(
        [ca, cb].flatMap((client) =>
          Array.from(
            { length: 50 },
            (_, i) =>
              client.acquire({ subject: `s${i}`, tenant, model: "m", estimated_tokens: 1000 }),
          )
        ),
      );
      const admitted = answers.filter((answer) => answer.allowed);
      assert.equal(admitted.length, 30);
      // Settled by the other process: 10 reservations used 100 tokens each.
      const settled = await Promise.all(
        admitted.slice(0, 10).map((answer) =>
          cb.settle({ reservation: answer.reservation!, actual_tokens: 100 })
        ),
      );
      assert.ok(settled.every((answer) => answer.settled));
      const again = await ca.settle({ reservation: admitted[0]!.reservation!, actual_tokens: 0 });
      assert.deepEqual(again, { settled: false }, "a reservation settles once");
      const after = await ca.acquire({ subject: "x", tenant, model: "m", estimated_tokens: 0 });
      assert.equal(after.allowed, true);
      assert.equal(after.limits[0]!.remaining, 9000);
    });
  } finally {
    await Promise.all([a.plugin.shutdown(), b.plugin.shutdown()]);
  }
});

Deno.test("bin/ratelimit-redis starts a new window when the old one ends", async () => {
  await using redis = await startRedis();
  const { plugin } = await start(redis, {
    rules: [{ name: "per-second", window: "1s", requests: 3 }],
  });
  try {
    const client = rateLimiterClient(plugin);
    const params = { subject: "roll", model: "m", estimated_tokens: 0 };
    // Acquire until refused: the window that refuses holds exactly 3 requests, however
    // the first acquires fell across an edge.
    let refused;
    for (let i = 0; i < 10 && refused === undefined; i++) {
      const answer = await client.acquire(params);
      if (!answer.allowed) refused = answer;
    }
    assert.ok(refused, "a burst of 10 is refused within a 1 s window of 3");
    assert.deepEqual(refused.limits.map((l) => [l.limit, l.remaining]), [[3, 0]]);
    assert.ok(refused.retry_after_ms! > 0 && refused.retry_after_ms! <= 1000);
    assert.equal(refused.limits[0]!.reset_ms, refused.retry_after_ms);
    await new Promise((resolve) => setTimeout(resolve, refused.retry_after_ms! + 20));
    const next = await client.acquire(params);
    assert.equal(next.allowed, true);
    assert.equal(next.limits[0]!.remaining, 2, "the new window starts from 0");
  } finally {
    await plugin.shutdown();
  }
});

Deno.test("bin/ratelimit-redis answers unavailable while Redis restarts, then serves again by itself", async () => {
  await using redis = await startRedis();
  const { plugin, logs } = await start(redis, {
    rules: [{ name: "rph", window: "1h", requests: 5, tokens: 10_000 }],
    command_timeout_ms: 300,
    reconnect_max_ms: 200,
  });
  try {
    const client = rateLimiterClient(plugin);
    const params = { subject: `s${crypto.randomUUID()}`, model: "m", estimated_tokens: 10 };
    const before = await client.acquire(params);
    assert.equal(before.allowed, true);

    await redis.stop();
    const error = await client.acquire(params).then(() => null, (e) => e);
    assert.ok(error instanceof PluginError, String(error));
    assert.equal(error.type, "unavailable");
    assert.match(error.message, /^Cannot check rate limits: Redis did not answer/);
    const settle = await client.settle({ reservation: before.reservation!, actual_tokens: 1 })
      .then(() => null, (e) => e);
    assert.equal((settle as PluginError).type, "unavailable");
    const down = await checkHealth(plugin);
    assert.equal(down.status, "unavailable");
    assert.equal(down.detail?.connected, false);

    await redis.start();
    // The script cache is empty after the restart: EVALSHA gets NOSCRIPT, the client EVALs.
    const back = await eventually(() => client.acquire(params));
    assert.equal(back.allowed, true);
    assert.equal(back.limits[0]!.remaining, 4, "the restarted Redis kept no data");
    assert.deepEqual(
      await client.settle({ reservation: back.reservation!, actual_tokens: 1 }),
      { settled: true },
    );
    assert.equal((await checkHealth(plugin)).status, "ok");
    const messages = logs.map((record) => record.msg);
    assert.ok(messages.includes("Redis calls fail: answering unavailable until one succeeds"));
    assert.ok(messages.includes("Redis calls succeed again"));
  } finally {
    await plugin.shutdown();
  }
});

Deno.test("bin/ratelimit-redis counts locally while Redis is down when fallback is local", async () => {
  await using redis = await startRedis();
  const { plugin } = await start(redis, {
    rules: [{ name: "rph", window: "1h", requests: 4, tokens: 10_000 }],
    fallback: { mode: "local", share: 0.5 },
    command_timeout_ms: 300,
    reconnect_max_ms: 200,
  });
  try {
    const client = rateLimiterClient(plugin);
    const params = { subject: `s${crypto.randomUUID()}`, model: "m", estimated_tokens: 10 };
    await redis.stop();
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await client.acquire(params));
    assert.deepEqual(answers.map((answer) => answer.allowed), [true, true, false]);
    assert.deepEqual(answers[0]!.limits.map((l) => [l.unit, l.limit]), [
      ["requests", 2],
      ["tokens", 5000],
    ]);
    assert.match(answers[0]!.reservation!, /^local\./);
    assert.deepEqual(
      await client.settle({ reservation: answers[0]!.reservation!, actual_tokens: 1 }),
      { settled: true },
    );
    const health = await checkHealth(plugin);
    assert.equal(health.status, "degraded");
    assert.equal(health.detail?.fallback_acquires, 3);

    await redis.start();
    const back = await eventually(async () => {
      const answer = await client.acquire(params);
      if (answer.limits[0]!.limit !== 4) throw new Error("still local");
      return answer;
    });
    assert.equal(back.allowed, true);
    assert.match(back.reservation!, /^r1\./);
  } finally {
    await plugin.shutdown();
  }
});

Deno.test("bin/ratelimit-redis starts with a wrong password, answers unavailable, and shows no password", async () => {
  await using redis = await startRedis({ password: "right-password-1234" });
  const { plugin, logs } = await start(redis, {
    url: `redis://:wrong-password-5678@127.0.0.1:${redis.port}`,
    rules: [{ name: "rph", window: "1h", requests: 4 }],
  });
  try {
    const error = await rateLimiterClient(plugin)
      .acquire({ subject: "s", model: "m", estimated_tokens: 0 })
      .then(() => null, (e) => e);
    assert.equal((error as PluginError).type, "unavailable", String(error));
    const health = await checkHealth(plugin);
    assert.equal(health.status, "unavailable");
    const seen = JSON.stringify([String(error?.message), health, logs]);
    assert.doesNotMatch(seen, /wrong-password-5678|right-password-1234/);
  } finally {
    await plugin.shutdown();
  }
});

Deno.test("bin/ratelimit-redis refuses a bad config naming every field", async () => {
  const redis = await startRedis();
  try {
    const error = await assertConfigRefused(
      start(redis, {
        rules: [{ name: "a", window: "1 minute", requests: 10 }],
        url: "https://example.com",
        clock: "local",
      }),
      ["clock", "rules[0].window", "url"],
    );
    assert.match(error.message, /plugin "ratelimit-redis" \(instance "limits"\)/);
  } finally {
    await redis.close();
  }
});
