import assert from "node:assert/strict";
import { PluginError } from "@vulpes/contract/plugin";
import { createTestContext } from "@vulpes/contract/testing";
import { Limiter } from "../ratelimit-memory/_limiter.ts";
import { compileRules, type RuleConfig } from "../ratelimit-memory/_rules.ts";
import { createRedisLimiter, type RedisLimiterOptions, scaleRules } from "./_limiter.ts";

const RULES: RuleConfig[] = [
  { name: "rpm", match: {}, key_by: ["subject"], window: "1m", requests: 10, tokens: 1000 },
];
const T0 = Date.parse("2026-01-01T00:00:00Z");
const PARAMS = { subject: "alice", model: "m", estimated_tokens: 100 };

/** A connection whose calls fail while `down` is true, and answer `reply` otherwise. */
function fakeConnection(reply: unknown[]) {
  const state = { down: true, calls: 0 };
  async function run(): Promise<unknown> {
    state.calls++;
    await Promise.resolve();
    if (state.down) throw new Error("The client is offline");
    return reply;
  }
  return { state, connection: { acquire: run, settle: run } };
}

function options(
  overrides: Partial<RedisLimiterOptions>,
): { options: RedisLimiterOptions; logs: Record<string, unknown>[] } {
  const context = createTestContext({ now: () => T0 });
  return {
    logs: context.logs,
    options: {
      rules: compileRules(RULES),
      layout: { prefix: "p:", tagFields: ["subject"] },
      connection: fakeConnection([]).connection,
      now: context.now,
      clock: "redis",
      random: context.random,
      fallback: null,
      logger: context.logger,
      ...overrides,
    },
  };
}

Deno.test("acquire() fails as unavailable while Redis cannot answer, and logs it once", async () => {
  const { state, connection } = fakeConnection([1, T0, 0, 1, 100, T0 + 60_000]);
  const { options: opts, logs } = options({ connection });
  const limiter = createRedisLimiter(opts);
  for (let i = 0; i < 3; i++) {
    const error = await limiter.acquire(PARAMS).then(() => null, (e) => e);
    assert.ok(error instanceof PluginError, String(error));
    assert.equal(error.type, "unavailable");
    assert.match(
      error.message,
      /^Cannot check rate limits: Redis did not answer \(The client is offline\)/,
    );
  }
  const settle = await limiter.settle("r1.WyJuIiwicyIsbnVsbCwibSJd", 1).then(() => null, (e) => e);
  assert.equal((settle as PluginError).type, "unavailable");
  state.down = false;
  assert.equal((await limiter.acquire(PARAMS)).allowed, true);
  assert.deepEqual(limiter.stats().redis_errors, 4);
  const lines = logs.filter((line) => line.level !== "debug").map((line) => [line.level, line.msg]);
  assert.deepEqual(lines, [
    ["warn", "Redis calls fail: answering unavailable until one succeeds"],
    ["info", "Redis calls succeed again"],
  ]);
});

Deno.test("acquire() counts in this process with the scaled rules while Redis cannot answer, when configured", async () => {
  const { state, connection } = fakeConnection([1, T0, 0, 1, 100, T0 + 60_000]);
  const context = createTestContext({ now: () => T0 });
  const fallback = new Limiter(compileRules(scaleRules(RULES, 0.25)), {
    now: context.now,
    random: context.random,
    sweepEvery: 1000,
  });
  const { options: opts } = options({ connection, fallback });
  const limiter = createRedisLimiter(opts);
  const answers = [];
  for (let i = 0; i < 3; i++) answers.push(await limiter.acquire(PARAMS));
  assert.deepEqual(answers.map((a) => a.allowed), [true, true, false]);
  assert.deepEqual(answers[0]!.limits.map((l) => [l.unit, l.limit, l.remaining]), [
    ["requests", 2, 1],
    ["tokens", 250, 150],
  ]);
  assert.match(answers[0]!.reservation!, /^local\./);
  assert.equal(await limiter.settle(answers[0]!.reservation!, 0), true);
  assert.equal(await limiter.settle(answers[0]!.reservation!, 0), false, "settled once");
  assert.equal(state.calls, 3, "a local reservation is settled without Redis");
  assert.deepEqual(limiter.stats().fallback_acquires, 3);
  state.down = false;
  const back = await limiter.acquire(PARAMS);
  assert.deepEqual([back.allowed, back.limits[0]!.limit], [true, 10]);
  assert.match(back.reservation!, /^r1\./);
});

Deno.test("acquire() counts a refusal for each rule whose window was full", async () => {
  const rules = compileRules([
    ...RULES,
    { name: "rph", match: {}, key_by: ["subject"], window: "1h", requests: 5 },
  ]);
  const reply = [0, T0, 60_000, 10, 100, T0 + 60_000, 3, 0, T0 + 3_600_000];
  const { connection, state } = fakeConnection(reply);
  state.down = false;
  const limiter = createRedisLimiter(options({ rules, connection }).options);
  assert.equal((await limiter.acquire(PARAMS)).allowed, false);
  assert.deepEqual(limiter.stats(), {
    rules: 2,
    refused: 1,
    refused_by_rule: { rpm: 1, rph: 0 },
    redis_errors: 0,
    fallback_acquires: 0,
  });
});

Deno.test("scaleRules() multiplies every limit, rounding down to at least 1", () => {
  const scaled = scaleRules([
    { name: "a", match: {}, key_by: [], window: "1s", requests: 10, tokens: 3 },
    { name: "b", match: {}, key_by: [], window: "1s", tokens: 1001 },
  ], 0.5);
  assert.deepEqual(scaled.map((rule) => [rule.requests, rule.tokens]), [[5, 1], [undefined, 500]]);
});
