import assert from "node:assert/strict";
import { checkHealth, PluginProcess, rateLimiterClient } from "@vulpes/contract/host";
import {
  assertConfigRefused,
  assertConformant,
  assertNoPermissions,
  inOneWindow,
  pluginBinary,
} from "../../tests/_support.ts";

const BINARY = pluginBinary("ratelimit-memory");
const HOUR = 3_600_000;

const CONFIG = {
  rules: [
    { name: "per-subject", window: "1h", requests: 5, tokens: 10_000 },
    {
      name: "o1",
      match: { model: "o1*" },
      key_by: ["subject", "model"],
      window: "1h",
      requests: 2,
    },
    { name: "tenant", key_by: ["tenant"], window: "1h", requests: 1_000_000 },
  ],
};

async function start(config: unknown = CONFIG): Promise<PluginProcess> {
  return await PluginProcess.start({
    command: BINARY,
    instance: "limits",
    capabilities: ["rate_limiter"],
    config,
    onLog: () => {},
    restart: false,
  });
}

Deno.test("bin/ratelimit-memory passes the conformance check", async () => {
  await assertConformant(BINARY, { config: CONFIG });
});

Deno.test("bin/ratelimit-memory has no permissions, as declared and as described", async () => {
  await assertNoPermissions("ratelimit-memory", ["rate_limiter"]);
});

Deno.test("bin/ratelimit-memory refuses a burst over the limit with its limits and retry_after_ms", async () => {
  const plugin = await start();
  try {
    const client = rateLimiterClient(plugin);
    await inOneWindow(HOUR, async (subject) => {
      const params = { subject, tenant: "acme", model: "o1-mini", estimated_tokens: 100 };
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await client.acquire(params));
      assert.deepEqual(answers.map((a) => a.allowed), [true, true, false, false]);
      const refused = answers[2]!;
      const now = Date.now();
      const windowEnd = (Math.floor(now / HOUR) + 1) * HOUR;
      assert.equal(refused.reservation, undefined);
      assert.ok(
        Math.abs(now + refused.retry_after_ms! - windowEnd) < 1000,
        `retry_after_ms ${refused.retry_after_ms} points at the end of the hour`,
      );
      const byUnit = refused.limits.map((l) => [l.name, l.unit, l.limit, l.remaining]);
      assert.deepEqual(byUnit, [
        ["per-subject", "requests", 5, 3],
        ["per-subject", "tokens", 10_000, 9800],
        ["o1", "requests", 2, 0],
        ["tenant", "requests", 1_000_000, byUnit[3]![3]],
      ]);
      assert.ok(refused.limits.every((l) => l.reset_ms === refused.retry_after_ms));
      // The refusals charged nothing: another model still has 3 requests of per-subject.
      const other = await client.acquire({ ...params, model: "gpt-4o" });
      assert.deepEqual(other.limits.slice(0, 2).map((l) => l.remaining), [2, 9700]);
      assert.deepEqual(await client.settle({ reservation: other.reservation!, actual_tokens: 0 }), {
        settled: true,
      });
      const after = await client.acquire({ ...params, model: "gpt-4o", estimated_tokens: 0 });
      assert.deepEqual(after.limits.slice(0, 2).map((l) => l.remaining), [1, 9800]);
    });
    const health = await checkHealth(plugin);
    assert.equal(health.status, "ok");
    assert.equal(health.detail?.rules, 3);
    assert.ok((health.detail?.refused as number) >= 2);
  } finally {
    await plugin.shutdown();
  }
});

Deno.test("bin/ratelimit-memory never admits more than the limit under many concurrent acquires", async () => {
  const plugin = await start({
    rules: [
      { name: "rph", window: "1h", requests: 50 },
      { name: "tph", key_by: ["tenant"], window: "1h", tokens: 30_000 },
    ],
  });
  try {
    const client = rateLimiterClient(plugin);
    await inOneWindow(HOUR, async (subject) => {
      const answers = await Promise.all(
        Array.from(
          { length: 300 },
          () => client.acquire({ subject, model: "m", estimated_tokens: 0 }),
        ),
      );
      assert.equal(answers.filter((a) => a.allowed).length, 50);
      const remaining = answers.filter((a) => a.allowed).map((a) => a.limits[0]!.remaining);
      assert.deepEqual(remaining.sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
    });
    await inOneWindow(HOUR, async (tenant) => {
      // 1000 tokens each: the 30th leaves exactly 0; nothing after it is admitted.
      const answers = await Promise.all(
        Array.from(
          { length: 100 },
          (_, i) =>
            client.acquire({ subject: `s${i}`, tenant, model: "m", estimated_tokens: 1000 }),
        ),
      );
      assert.equal(answers.filter((a) => a.allowed).length, 30);
    });
  } finally {
    await plugin.shutdown();
  }
});

Deno.test("bin/ratelimit-memory refuses a bad config naming every field", async () => {
  const error = await assertConfigRefused(
    start({
      rules: [
        { name: "a", window: "1 minute", requests: 10, match: { group: "admins" } },
        { name: "a", window: "1m" },
      ],
      sweep: true,
    }),
    [
      "rules[0].window",
      "rules[1]",
      "rules[1].name",
      "sweep",
    ],
  );
  assert.match(error.message, /plugin "ratelimit-memory" \(instance "limits"\)/);
});

Deno.test("bin/ratelimit-memory answers wrong params with -32602 and keeps serving", async () => {
  const plugin = await start();
  try {
    for (
      const params of [
        {},
        { subject: "a", model: "m", estimated_tokens: -1 },
        { subject: "a", model: "m", estimated_tokens: 1.5 },
        { reservation: 7 },
      ]
    ) {
      const error = await plugin.request("ratelimit.acquire", params).then(() => null, (e) => e);
      assert.equal(error?.code, -32602, JSON.stringify(params));
    }
    assert.deepEqual(
      await rateLimiterClient(plugin).settle({ reservation: "unknown", actual_tokens: 1 }),
      { settled: false },
    );
    assert.equal((await checkHealth(plugin)).status, "ok");
  } finally {
    await plugin.shutdown();
  }
});
