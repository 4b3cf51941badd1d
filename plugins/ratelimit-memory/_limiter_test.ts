import assert from "node:assert/strict";
import { Limiter } from "./_limiter.ts";
import { type Caller, compileRules } from "./_rules.ts";
import { configSchema } from "./config.ts";

/** 2026-01-01T00:00:00Z: a multiple of every window length up to a day. */
const T0 = Date.parse("2026-01-01T00:00:00Z");
const MINUTE = 60_000;

function setup(rules: unknown[], sweepEvery = 1000) {
  const clock = { now: T0 };
  const config = configSchema.parse({ rules, sweep_every: sweepEvery });
  const limiter = new Limiter(compileRules(config.rules), {
    now: () => clock.now,
    random: () => 0.5,
    sweepEvery: config.sweep_every,
  });
  return { clock, limiter };
}

const alice: Caller = { subject: "alice", tenant: "acme", model: "gpt-4o" };

Deno.test("acquire() admits up to the limit in the last ms of a window, and again in the first ms of the next", () => {
  const { clock, limiter } = setup([{ name: "rpm", window: "1m", requests: 2 }]);
  clock.now = T0 + MINUTE - 1;
  assert.deepEqual(limiter.acquire(alice, 0), {
    allowed: true,
    limits: [{ name: "rpm", unit: "requests", limit: 2, remaining: 1, reset_ms: 1 }],
  });
  assert.equal(limiter.acquire(alice, 0).allowed, true);
  assert.deepEqual(limiter.acquire(alice, 0), {
    allowed: false,
    retry_after_ms: 1,
    limits: [{ name: "rpm", unit: "requests", limit: 2, remaining: 0, reset_ms: 1 }],
  });
  clock.now = T0 + MINUTE;
  assert.deepEqual(limiter.acquire(alice, 0), {
    allowed: true,
    limits: [{ name: "rpm", unit: "requests", limit: 2, remaining: 1, reset_ms: MINUTE }],
  });
});

Deno.test("acquire() aligns windows to multiples of their length, not to the first request", () => {
  const { clock, limiter } = setup([{ name: "rpm", window: "1m", requests: 1 }]);
  clock.now = T0 + 45_000;
  assert.equal(limiter.acquire(alice, 0).limits[0]!.reset_ms, 15_000);
  clock.now = T0 + 59_999;
  assert.deepEqual(
    { ...limiter.acquire(alice, 0), limits: [] },
    { allowed: false, retry_after_ms: 1, limits: [] },
  );
  clock.now = T0 + 60_000;
  assert.equal(
    limiter.acquire(alice, 0).allowed,
    true,
    "a fresh window 15 s after the first request",
  );
});

Deno.test("acquire() keeps one window per key_by value", () => {
  const { limiter } = setup([{
    name: "per-subject",
    window: "1m",
    requests: 1,
    key_by: ["subject"],
  }]);
  assert.equal(limiter.acquire(alice, 0).allowed, true);
  assert.equal(limiter.acquire({ ...alice, model: "o1" }, 0).allowed, false, "same subject");
  assert.equal(limiter.acquire({ ...alice, subject: "bob" }, 0).allowed, true);
});

Deno.test("acquire() applies every matching rule and reports each of their limits", () => {
  const { limiter } = setup([
    { name: "per-subject", window: "1m", requests: 10, tokens: 1000 },
    { name: "tenant-daily", window: "1d", tokens: 50_000, key_by: ["tenant"] },
    { name: "o1-only", window: "1s", requests: 1, match: { model: "o1*" } },
  ]);
  const result = limiter.acquire(alice, 300);
  assert.equal(result.allowed, true);
  assert.deepEqual(result.limits, [
    { name: "per-subject", unit: "requests", limit: 10, remaining: 9, reset_ms: MINUTE },
    { name: "per-subject", unit: "tokens", limit: 1000, remaining: 700, reset_ms: MINUTE },
    {
      name: "tenant-daily",
      unit: "tokens",
      limit: 50_000,
      remaining: 49_700,
      reset_ms: 86_400_000,
    },
  ]);
  assert.equal(typeof result.reservation, "string");
  assert.equal(limiter.acquire({ ...alice, model: "o1-mini" }, 0).limits.length, 4);
});

Deno.test("acquire() refused by one rule charges none of the others", () => {
  const { limiter } = setup([
    { name: "per-subject", window: "1m", requests: 5, tokens: 1000 },
    { name: "o1", window: "1m", requests: 1, match: { model: "o1" } },
  ]);
  assert.equal(limiter.acquire({ ...alice, model: "o1" }, 100).allowed, true);
  for (let i = 0; i < 3; i++) {
    const refused = limiter.acquire({ ...alice, model: "o1" }, 100);
    assert.equal(refused.allowed, false);
    assert.equal(refused.reservation, undefined);
    assert.deepEqual(refused.limits.map((l) => [l.name, l.unit, l.remaining]), [
      ["per-subject", "requests", 4],
      ["per-subject", "tokens", 900],
      ["o1", "requests", 0],
    ]);
  }
  const other = limiter.acquire(alice, 100);
  assert.deepEqual(other.limits.map((l) => l.remaining), [3, 800], "the refusals took nothing");
  assert.deepEqual(limiter.stats().refused_by_rule, { "per-subject": 0, o1: 3 });
  assert.equal(limiter.stats().refused, 3);
});

Deno.test("acquire() admits while the window has tokens left, and the estimate may overshoot", () => {
  const { clock, limiter } = setup([{ name: "tpm", window: "1m", tokens: 1000 }]);
  const first = limiter.acquire(alice, 900);
  assert.deepEqual(first.limits[0]!.remaining, 100);
  const overshoot = limiter.acquire(alice, 5000);
  assert.equal(overshoot.allowed, true, "100 tokens were left");
  assert.equal(overshoot.limits[0]!.remaining, 0, "remaining never goes below 0");
  const refused = limiter.acquire(alice, 0);
  assert.equal(refused.allowed, false, "no tokens left, even for an estimate of 0");
  assert.equal(refused.retry_after_ms, MINUTE);
  clock.now = T0 + MINUTE;
  assert.equal(limiter.acquire(alice, 5000).allowed, true, "a new window carries no debt");
});

Deno.test("acquire() answers retry_after_ms from the latest window among the refusing rules", () => {
  const { clock, limiter } = setup([
    { name: "per-second", window: "1s", requests: 1 },
    { name: "per-minute", window: "1m", requests: 1 },
    { name: "per-hour", window: "1h", requests: 100 },
  ]);
  clock.now = T0 + 500;
  limiter.acquire(alice, 0);
  const both = limiter.acquire(alice, 0);
  assert.equal(
    both.retry_after_ms,
    MINUTE - 500,
    "per-second resets first, but per-minute still refuses",
  );
  clock.now = T0 + 1000;
  assert.equal(limiter.acquire(alice, 0).retry_after_ms, MINUTE - 1000, "only per-minute refuses");
});

Deno.test("settle() corrects the reserved estimate down and up", () => {
  const { limiter } = setup([{ name: "tpm", window: "1m", tokens: 1000 }]);
  const down = limiter.acquire(alice, 600);
  assert.deepEqual(limiter.settle(down.reservation!, 100), true);
  assert.equal(limiter.acquire(alice, 0).limits[0]!.remaining, 900, "500 tokens given back");
  const up = limiter.acquire(alice, 100);
  assert.equal(up.limits[0]!.remaining, 800);
  assert.equal(limiter.settle(up.reservation!, 900), true);
  const refused = limiter.acquire(alice, 0);
  assert.deepEqual([refused.allowed, refused.limits[0]!.remaining], [false, 0], "1100 used");
});

Deno.test("settle() answers false for an unknown reservation and for a second settle", () => {
  const { limiter } = setup([{ name: "tpm", window: "1m", tokens: 1000 }]);
  const { reservation } = limiter.acquire(alice, 10);
  assert.equal(limiter.settle("nope", 1), false);
  assert.equal(limiter.settle(reservation!, 5), true);
  assert.equal(limiter.settle(reservation!, 500), false);
  assert.equal(limiter.acquire(alice, 0).limits[0]!.remaining, 995);
});

Deno.test("settle() lets go of a reservation at once, long before its window ends", () => {
  const { clock, limiter } = setup([
    { name: "daily", window: "1d", tokens: 1e12, key_by: ["tenant"] },
  ], 10);
  for (let i = 0; i < 1000; i++) {
    clock.now = T0 + i * MINUTE;
    const { reservation } = limiter.acquire(alice, 100);
    assert.equal(limiter.settle(reservation!, 90), true);
  }
  const unsettled = limiter.acquire(alice, 100);
  assert.equal(unsettled.limits[0]!.remaining, 1e12 - 1000 * 90 - 100, "every settle counted");
  limiter.sweep();
  assert.deepEqual(
    [limiter.stats().active_windows, limiter.stats().reservations],
    [1, 1],
    "the day's window has not ended, and only the unsettled reservation is held",
  );
  assert.equal(limiter.settle(unsettled.reservation!, 0), true);
  assert.equal(limiter.stats().reservations, 0);
});

Deno.test("settle() after the window rolled over is a no-op and leaves the new window alone", () => {
  const { clock, limiter } = setup([{ name: "tpm", window: "1m", tokens: 1000 }]);
  clock.now = T0 + MINUTE - 1;
  const { reservation } = limiter.acquire(alice, 800);
  clock.now = T0 + MINUTE;
  const fresh = limiter.acquire(alice, 100);
  assert.equal(fresh.limits[0]!.remaining, 900);
  assert.equal(limiter.settle(reservation!, 0), false);
  assert.equal(limiter.acquire(alice, 0).limits[0]!.remaining, 900, "not 1700 given back");
});

Deno.test("settle() corrects the windows that have not ended when only some rolled over", () => {
  const { clock, limiter } = setup([
    { name: "tps", window: "1s", tokens: 1000 },
    { name: "tpm", window: "1m", tokens: 10_000 },
  ]);
  clock.now = T0 + 999;
  const { reservation } = limiter.acquire(alice, 800);
  clock.now = T0 + 1000;
  assert.equal(limiter.settle(reservation!, 50), true);
  assert.deepEqual(limiter.acquire(alice, 0).limits.map((l) => l.remaining), [1000, 9950]);
});

Deno.test("acquire() hands out no reservation when no token rule applied", () => {
  const { limiter } = setup([
    { name: "rpm", window: "1m", requests: 5 },
    { name: "o1-tokens", window: "1m", tokens: 5, match: { model: "o1" } },
  ]);
  assert.deepEqual(limiter.acquire(alice, 10), {
    allowed: true,
    limits: [{ name: "rpm", unit: "requests", limit: 5, remaining: 4, reset_ms: MINUTE }],
  });
  assert.equal(limiter.stats().reservations, 0);
  assert.deepEqual(
    limiter.acquire({ ...alice, subject: "x", tenant: "y", model: "gpt" }, 1).allowed,
    true,
  );
});

Deno.test("acquire() with no matching rule admits and reports no limits", () => {
  const { limiter } = setup([{ name: "o1", window: "1m", requests: 1, match: { model: "o1" } }]);
  assert.deepEqual(limiter.acquire(alice, 10), { allowed: true, limits: [] });
});

function peaks(sweepEvery: number, subjects: number) {
  const { clock, limiter } = setup([
    { name: "rps", window: "1s", requests: 5, tokens: 1000 },
    { name: "tenant", window: "1s", requests: 100_000, key_by: ["tenant"] },
  ], sweepEvery);
  let peak = { windows: 0, reservations: 0 };
  for (let second = 0; second < 100; second++) {
    for (let i = 0; i < subjects; i++) {
      clock.now = T0 + second * 1000 + (i * 1000) / subjects;
      const caller = { subject: `user-${second}-${i}`, tenant: `t${i % 3}`, model: "m" };
      assert.equal(limiter.acquire(caller, 10).allowed, true);
      const stats = limiter.stats();
      peak = {
        windows: Math.max(peak.windows, stats.active_windows),
        reservations: Math.max(peak.reservations, stats.reservations),
      };
    }
  }
  clock.now = T0 + 200_000;
  limiter.sweep();
  return { peak, after: limiter.stats() };
}

Deno.test("sweep keeps windows and reservations bounded over many subjects and windows", () => {
  const subjects = 200;
  const sweepEvery = 100;
  const { peak, after } = peaks(sweepEvery, subjects);
  // 20,000 subjects were seen; at most one window's keys plus one sweep interval are held.
  assert.ok(peak.windows <= 2 * (subjects + 3) + sweepEvery, `peak windows ${peak.windows}`);
  assert.ok(peak.reservations <= subjects + sweepEvery, `peak reservations ${peak.reservations}`);
  assert.deepEqual([after.active_windows, after.reservations], [0, 0]);
  const unswept = peaks(1_000_000, subjects).peak;
  assert.ok(unswept.windows > 20_000, `without a sweep: ${unswept.windows}`);
});

Deno.test("reservation ids differ between limiters with different random sources", () => {
  const rules = compileRules(
    configSchema.parse({ rules: [{ name: "t", window: "1m", tokens: 9 }] }).rules,
  );
  const a = new Limiter(rules, { now: () => T0, random: () => 0.1, sweepEvery: 10 });
  const b = new Limiter(rules, { now: () => T0, random: () => 0.2, sweepEvery: 10 });
  const id = a.acquire(alice, 1).reservation!;
  assert.notEqual(id, b.acquire(alice, 1).reservation);
  assert.equal(b.settle(id, 0), false);
});
