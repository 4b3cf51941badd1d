import assert from "node:assert/strict";
import fc from "fast-check";
import { createClient } from "redis";
import type { AcquireParams, AcquireResult } from "@vulpes/contract/capabilities";
import type { PluginContext, PluginError, PluginInstance } from "@vulpes/contract/plugin";
import { servePlugin } from "@vulpes/contract/plugin";
import { createLinkedPair, Peer, RpcError } from "@vulpes/contract/protocol";
import {
  createTestCall,
  createTestContext,
  startRedis,
  type TestRedis,
} from "@vulpes/contract/testing";
import { configSchema as memoryConfigSchema } from "../ratelimit-memory/config.ts";
import { plugin as memoryPlugin } from "../ratelimit-memory/mod.ts";
import { configSchema } from "./config.ts";
import { plugin } from "./mod.ts";

const DAY = 86_400_000;
const T0 = Date.parse("2026-01-01T00:00:00Z");

const RULES = [
  { name: "per-caller", window: "1m", requests: 4, tokens: 5000 },
  {
    name: "reasoning",
    match: { model: "o*" },
    key_by: ["subject", "model"],
    window: "1m",
    requests: 2,
  },
  { name: "tenant-hour", match: { tenant: "*" }, key_by: ["tenant"], window: "1h", tokens: 9000 },
  { name: "admins", match: { group: "admin*" }, key_by: [], window: "1d", requests: 6 },
];

const call = createTestCall();

async function redisInstance(
  redis: TestRedis,
  config: Record<string, unknown>,
  context: Partial<PluginContext> = {},
): Promise<PluginInstance> {
  const parsed = configSchema.parse({
    url: redis.url,
    prefix: `t${crypto.randomUUID()}:`,
    ...config,
  });
  return await plugin.create(parsed, createTestContext(context));
}

/** The answer without its reservation id (ids differ between the plugins), and whether it had one. */
function comparable(answer: AcquireResult): AcquireResult {
  return answer.reservation === undefined ? answer : { ...answer, reservation: "…" };
}

type Op =
  | { kind: "acquire"; params: AcquireParams }
  | { kind: "settle"; pick: number; actual: number }
  | { kind: "wait"; ms: number }
  | { kind: "next-minute"; offset: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      subject: fc.constantFrom("alice", "bob"),
      tenant: fc.constantFrom("acme", "beta", undefined),
      model: fc.constantFrom("gpt-4o", "o3-mini"),
      groups: fc.constantFrom([], ["admins"], ["users", "admin-eu"]),
      estimated_tokens: fc.integer({ min: 0, max: 3000 }),
    }).map(({ tenant, groups, ...rest }): Op => {
      const params: AcquireParams = { ...rest, groups: [...groups] };
      if (tenant !== undefined) params.tenant = tenant;
      return { kind: "acquire", params };
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("settle" as const),
      pick: fc.nat(),
      actual: fc.integer({ min: 0, max: 4000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("wait" as const), ms: fc.nat(20_000) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("next-minute" as const), offset: fc.nat(5_000) }),
  },
);

Deno.test("acquire() and settle() answer exactly as ratelimit-memory does, on the same clock", async () => {
  const redis = await startRedis();
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
        // Keys expire on the server's clock after (window end − plugin clock); keeping the
        // fake clock 15 s or more before each minute's end keeps every key alive meanwhile.
        let now = T0 + 7 * DAY;
        const context = { now: () => now };
        const memory = await memoryPlugin.create(
          memoryConfigSchema.parse({ rules: RULES }),
          createTestContext(context),
        );
        const shared = await redisInstance(redis, { rules: RULES, clock: "plugin" }, context);
        const reservations: [string, string][] = [];
        try {
          for (const step of ops) {
            if (step.kind === "wait") now = Math.min(now + step.ms, now - (now % 60_000) + 45_000);
            if (step.kind === "next-minute") now = now - (now % 60_000) + 60_000 + step.offset;
            if (step.kind === "acquire") {
              const a = await memory.rate_limiter!.acquire(step.params, call);
              const b = await shared.rate_limiter!.acquire(step.params, call);
              assert.deepEqual(comparable(b), comparable(a), JSON.stringify(step.params));
              if (a.reservation) reservations.push([a.reservation, b.reservation!]);
            }
            if (step.kind === "settle" && reservations.length > 0) {
              const [a, b] = reservations[step.pick % reservations.length]!;
              assert.deepEqual(
                await shared.rate_limiter!.settle(
                  { reservation: b, actual_tokens: step.actual },
                  call,
                ),
                await memory.rate_limiter!.settle(
                  { reservation: a, actual_tokens: step.actual },
                  call,
                ),
              );
            }
          }
        } finally {
          await shared.close!();
        }
      }),
      { numRuns: 40 },
    );
  } finally {
    await redis.close();
  }
});

Deno.test("acquire() keeps each window in one hash that expires when the window ends", async () => {
  await using redis = await startRedis();
  const client = createClient({ url: redis.url });
  await client.connect();
  try {
    const prefix = "exp:";
    const instance = await plugin.create(
      configSchema.parse({
        url: redis.url,
        prefix,
        rules: [{ name: "rph", window: "1h", requests: 10, tokens: 100 }],
      }),
      createTestContext(),
    );
    const answer = await instance.rate_limiter!.acquire(
      { subject: "alice", model: "m", estimated_tokens: 7 },
      call,
    );
    const keys = (await client.keys(`${prefix}*`)).sort();
    assert.deepEqual(keys.map((key) => key.replace(/:r:.*/, ":r:…")), [
      "exp:{5:alice}:r:…",
      "exp:{5:alice}:w:3:rph:5:alice|",
    ]);
    const window = { ...await client.hGetAll(keys[1]!) };
    const resetMs = answer.limits[0]!.reset_ms;
    assert.deepEqual(window, {
      w: String(Math.round((Date.now() + resetMs) / 3_600_000) * 3_600_000 - 3_600_000),
      r: "1",
      t: "7",
    });
    for (const key of keys) {
      const ttl = await client.pTTL(key);
      assert.ok(ttl > 0 && ttl <= resetMs, `${key} expires with its window (${ttl} ms)`);
    }
    await instance.close!();
  } finally {
    client.destroy();
  }
});

Deno.test("health reports the connection, the rules and the refusals; unavailable when Redis is down", async () => {
  const redis = await startRedis();
  try {
    const instance = await redisInstance(redis, {
      rules: [{ name: "one", window: "1h", requests: 1 }],
    });
    const params = { subject: `s${crypto.randomUUID()}`, model: "m", estimated_tokens: 0 };
    await instance.rate_limiter!.acquire(params, call);
    await instance.rate_limiter!.acquire(params, call);
    const health = await instance.health!();
    assert.equal(health.status, "ok");
    assert.deepEqual(health.detail, {
      redis: `standalone 127.0.0.1:${redis.port}`,
      fallback: "unavailable",
      connection_replacements: 0,
      connected: true,
      rules: 1,
      refused: 1,
      refused_by_rule: { one: 1 },
      redis_errors: 0,
      fallback_acquires: 0,
    });
    await redis.stop();
    const down = await instance.health!();
    assert.equal(down.status, "unavailable");
    assert.equal(down.detail?.connected, false);
    await instance.close!();
  } finally {
    await redis.close();
  }
});

/** What `work` rejects with; fails when it does not. */
async function rejection(work: () => unknown): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error("Expected a rejection, got an answer");
}

Deno.test("acquire() and settle() answer within command_timeout_ms while Redis stalls, by the fallback or as unavailable", async () => {
  await using redis = await startRedis();
  const admin = createClient({ url: redis.url });
  await admin.connect();
  const rules = [{ name: "tpm", window: "1m", requests: 100, tokens: 100_000 }];
  const local = await redisInstance(redis, {
    rules,
    command_timeout_ms: 200,
    fallback: { mode: "local" },
  });
  const strict = await redisInstance(redis, { rules, command_timeout_ms: 200 });
  const patient = await redisInstance(redis, { rules, command_timeout_ms: 2000 });
  const params = { subject: "alice", model: "m", estimated_tokens: 10 };
  const settleable = await strict.rate_limiter!.acquire(params, call);
  assert.match(settleable.reservation ?? "", /^r/, "Redis answered before the pause");
  try {
    // Redis keeps the connections open and answers nothing for 10 s.
    await admin.sendCommand(["CLIENT", "PAUSE", "10000", "ALL"]);
    const started = performance.now();
    const within = () => performance.now() - started;

    const fallback = await local.rate_limiter!.acquire(params, call);
    assert.equal(fallback.allowed, true);
    assert.match(fallback.reservation ?? "", /^local\./, "counted in this process");
    const refused = await rejection(() => strict.rate_limiter!.acquire(params, call));
    assert.equal((refused as PluginError).type, "unavailable", String(refused));
    assert.match(String(refused), /no answer within command_timeout_ms \(200 ms\)/);
    const settled = await rejection(() =>
      strict.rate_limiter!.settle({ reservation: settleable.reservation!, actual_tokens: 1 }, call)
    );
    assert.equal((settled as PluginError).type, "unavailable", String(settled));
    assert.ok(within() < 1500, `three calls of 200 ms each took ${within()} ms`);

    const cancellable = createTestCall();
    const reason = new Error("cancelled by the core");
    setTimeout(() => cancellable.cancel(reason), 100);
    const before = performance.now();
    const cancelled = await rejection(() => patient.rate_limiter!.acquire(params, cancellable));
    assert.equal(cancelled, reason, "the cancellation, not unavailable after 2000 ms");
    assert.ok(performance.now() - before < 1000, `cancelled after ${performance.now() - before}`);

    const health = await local.health!();
    assert.equal(health.status, "degraded");
    assert.equal(health.detail?.fallback_acquires, 1);
    assert.equal((await patient.health!()).detail?.redis_errors, 0, "a cancellation is no error");
    // Closing waits up to command_timeout_ms for answers still due, then drops them.
    const closing = performance.now();
    await Promise.all([local, strict, patient].map((instance) => instance.close!()));
    assert.ok(performance.now() - closing < 3000, `closed in ${performance.now() - closing} ms`);
    assert.ok(within() < 6000, `the pause lasts 10000 ms, the test took ${within()} ms`);
  } finally {
    admin.destroy();
  }
});

Deno.test("initialize refuses a bad config, listing every field path", async () => {
  const [core, side] = createLinkedPair();
  const served = servePlugin(plugin, side, { writeLog: () => {} });
  const host = new Peer(core);
  await host.start();
  const error = await host.request("initialize", {
    protocol_version: "1",
    instance: "limits",
    capabilities: ["rate_limiter"],
    config: {
      rules: [{ name: "a", window: "1.5m", requests: 1 }, { name: "a", window: "1m" }],
      url: "http://127.0.0.1:6379",
      prefix: "a{b}",
      mode: "sentinel",
      fallback: { mode: "local", share: 0 },
      sweep_every: 0,
    },
    settings: { capture_payloads: false },
  }).then(() => null, (e) => e);
  assert.ok(error instanceof RpcError, String(error));
  const data = error.data as { type: string; errors: { path: string; message: string }[] };
  assert.equal(data.type, "invalid_config");
  assert.deepEqual(data.errors.map((issue) => issue.path).sort(), [
    "fallback.share",
    "prefix",
    "rules[0].window",
    "rules[1]",
    "rules[1].name",
    "sentinel",
    "sweep_every",
    "url",
  ]);
  assert.doesNotMatch(error.message, /127\.0\.0\.1:6379/, "the url is a secret");
  await host.request("shutdown");
  await served.done;
});
