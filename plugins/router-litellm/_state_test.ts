import assert from "node:assert/strict";
import type { FeedbackParams } from "@vulpes/contract/capabilities";
import {
  applyFeedback,
  average,
  classify,
  inFlight,
  isCooling,
  newState,
  refresh,
  type StateOptions,
  takeTicket,
  withinLimits,
} from "./_state.ts";

const OPTIONS: StateOptions = {
  allowedFails: 2,
  cooldownMs: 5000,
  maxCooldownMs: 60_000,
  disableCooldowns: false,
  inFlightTimeoutMs: 30_000,
  latencySamples: 3,
  latencyTtlMs: 3_600_000,
};

const T0 = Date.parse("2026-01-01T00:00:00Z");

function fb(fields: Partial<FeedbackParams>): FeedbackParams {
  return { upstream: "u", model: "m", outcome: "success", latency_ms: 100, ...fields };
}

Deno.test("takeTicket() counts in flight until feedback settles, never below zero", () => {
  const state = newState();
  refresh(state, T0, OPTIONS);
  takeTicket(state, T0, 10);
  takeTicket(state, T0, 20);
  assert.equal(inFlight(state), 2);
  assert.deepEqual([state.rpm, state.tpm], [2, 30]);
  assert.equal(applyFeedback(state, fb({}), T0 + 10, OPTIONS).settled, true);
  assert.equal(applyFeedback(state, fb({}), T0 + 10, OPTIONS).settled, true);
  // A third feedback (a fallback attempt the router did not pick first) counts on its own.
  assert.equal(applyFeedback(state, fb({}), T0 + 10, OPTIONS).settled, false);
  assert.equal(inFlight(state), 0);
  assert.equal(state.rpm, 3);
});

Deno.test("refresh() expires tickets without feedback after in_flight_timeout", () => {
  const state = newState();
  refresh(state, T0, OPTIONS);
  takeTicket(state, T0, 1);
  takeTicket(state, T0 + 10_000, 1);
  refresh(state, T0 + 29_999, OPTIONS);
  assert.equal(inFlight(state), 2);
  refresh(state, T0 + 30_000, OPTIONS);
  assert.equal(inFlight(state), 1);
  refresh(state, T0 + 40_000, OPTIONS);
  assert.equal(inFlight(state), 0);
});

Deno.test("applyFeedback() replaces the token estimate with the usage in the same minute", () => {
  const state = newState();
  refresh(state, T0, OPTIONS);
  takeTicket(state, T0, 1000);
  applyFeedback(
    state,
    fb({ usage: { prompt_tokens: 200, completion_tokens: 50, total_tokens: 250 } }),
    T0 + 1000,
    OPTIONS,
  );
  assert.equal(state.tpm, 250);
  // A ticket counted last minute: its correction is not carried into this minute.
  takeTicket(state, T0 + 59_000, 500);
  refresh(state, T0 + 61_000, OPTIONS);
  applyFeedback(
    state,
    fb({ usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 } }),
    T0 + 61_000,
    OPTIONS,
  );
  assert.deepEqual([state.rpm, state.tpm], [0, 0]);
});

Deno.test("refresh() starts a new minute for rpm and tpm", () => {
  const state = newState();
  refresh(state, T0 + 59_999, OPTIONS);
  takeTicket(state, T0 + 59_999, 7);
  assert.deepEqual([state.rpm, state.tpm], [1, 7]);
  refresh(state, T0 + 60_000, OPTIONS);
  assert.deepEqual([state.rpm, state.tpm], [0, 0]);
});

Deno.test("withinLimits() allows a request that reaches the limit exactly, not one past it", () => {
  const state = newState();
  state.rpm = 9;
  state.tpm = 900;
  assert.equal(withinLimits(state, { rpm: 10 }, 0), true);
  assert.equal(withinLimits(state, { tpm: 1000 }, 100), true);
  assert.equal(withinLimits(state, { tpm: 1000 }, 101), false);
  state.rpm = 10;
  assert.equal(withinLimits(state, { rpm: 10 }, 0), false);
  assert.equal(withinLimits(state, {}, 1e9), true);
});

Deno.test("applyFeedback() cools down after allowed_fails failures within a minute, then lets go", () => {
  const state = newState();
  refresh(state, T0, OPTIONS);
  applyFeedback(state, fb({ outcome: "error", status: 500 }), T0, OPTIONS);
  applyFeedback(state, fb({ outcome: "timeout" }), T0 + 1000, OPTIONS);
  assert.equal(isCooling(state, T0 + 1000), false, "two failures are allowed");
  const effect = applyFeedback(state, fb({ outcome: "error", status: 503 }), T0 + 2000, OPTIONS);
  assert.equal(effect.cooledUntil, T0 + 7000);
  assert.equal(state.cooldownReason, "allowed_fails exceeded");
  refresh(state, T0 + 6999, OPTIONS);
  assert.equal(isCooling(state, T0 + 6999), true);
  refresh(state, T0 + 7000, OPTIONS);
  assert.equal(isCooling(state, T0 + 7000), false, "the cooldown ends exactly on time");
  assert.equal(state.coolingUntil, 0);
  assert.equal(state.fails.length, 0, "entering a cooldown forgets the failures");
});

Deno.test("applyFeedback() forgets failures older than a minute", () => {
  const state = newState();
  refresh(state, T0, OPTIONS);
  applyFeedback(state, fb({ outcome: "error" }), T0, OPTIONS);
  applyFeedback(state, fb({ outcome: "error" }), T0 + 1000, OPTIONS);
  refresh(state, T0 + 60_500, OPTIONS);
  applyFeedback(state, fb({ outcome: "error" }), T0 + 60_500, OPTIONS);
  assert.equal(isCooling(state, T0 + 60_500), false);
  assert.equal(state.fails.length, 2);
});

Deno.test("applyFeedback() cools a 429 down at once, honouring retry_after_ms up to the cap", () => {
  const state = newState();
  refresh(state, T0, OPTIONS);
  applyFeedback(state, fb({ outcome: "rate_limited", status: 429, retry_after_ms: 12_000 }), T0, {
    ...OPTIONS,
  });
  assert.equal(state.coolingUntil, T0 + 12_000);
  assert.equal(state.cooldownReason, "rate_limited");
  // A shorter hint does not shorten it; a longer one lengthens it, up to max_cooldown_time.
  applyFeedback(state, fb({ outcome: "rate_limited", retry_after_ms: 1000 }), T0 + 1, OPTIONS);
  assert.equal(state.coolingUntil, T0 + 12_000);
  applyFeedback(state, fb({ outcome: "rate_limited", retry_after_ms: 1e9 }), T0 + 2, OPTIONS);
  assert.equal(state.coolingUntil, T0 + 2 + 60_000);
  const plain = newState();
  applyFeedback(plain, fb({ outcome: "error", status: 429 }), T0, OPTIONS);
  assert.equal(plain.coolingUntil, T0 + 5000, "no hint: cooldown_time");
});

Deno.test("applyFeedback() never cools down with disable_cooldowns, but counts failures", () => {
  const state = newState();
  const options = { ...OPTIONS, disableCooldowns: true };
  applyFeedback(state, fb({ outcome: "rate_limited" }), T0, options);
  for (let i = 0; i < 5; i++) applyFeedback(state, fb({ outcome: "error" }), T0, options);
  assert.equal(state.coolingUntil, 0);
});

Deno.test("classify() cools down 429, 401, 403, 404; counts 5xx, 408, timeouts; ignores other 4xx", () => {
  const cases: [Partial<FeedbackParams>, string][] = [
    [{ outcome: "success", status: 200 }, "none"],
    [{ outcome: "rate_limited" }, "cooldown"],
    [{ outcome: "error", status: 429 }, "cooldown"],
    [{ outcome: "error", status: 401 }, "cooldown"],
    [{ outcome: "error", status: 403 }, "cooldown"],
    [{ outcome: "error", status: 404 }, "cooldown"],
    [{ outcome: "error", status: 500 }, "count"],
    [{ outcome: "error", status: 408 }, "count"],
    [{ outcome: "error" }, "count"],
    [{ outcome: "timeout" }, "count"],
    [{ outcome: "error", status: 400 }, "none"],
    [{ outcome: "error", status: 422 }, "none"],
  ];
  for (const [fields, expected] of cases) {
    assert.equal(classify(fb(fields)), expected, JSON.stringify(fields));
  }
});

Deno.test("applyFeedback() keeps a moving average of the last samples; errors add none", () => {
  const state = newState();
  for (const ms of [100, 200, 300, 400]) applyFeedback(state, fb({ latency_ms: ms }), T0, OPTIONS);
  assert.equal(average(state.latency), 300, "the last three");
  applyFeedback(state, fb({ outcome: "error", status: 500, latency_ms: 1 }), T0, OPTIONS);
  assert.equal(average(state.latency), 300);
  applyFeedback(state, fb({ outcome: "timeout", latency_ms: 30_000 }), T0, OPTIONS);
  assert.equal(average(state.latency), (300 + 400 + 30_000) / 3, "a timeout is a penalty");
  applyFeedback(state, fb({ ttft_ms: 80 }), T0, OPTIONS);
  assert.equal(average(state.ttft), 80);
  refresh(state, T0 + 3_600_001, OPTIONS);
  assert.equal(average(state.latency), null, "samples older than ttl are dropped");
});

Deno.test("applyFeedback() does not lengthen a cooldown with failures reported during it", () => {
  const state = newState();
  const options = { ...OPTIONS, allowedFails: 0 };
  applyFeedback(state, fb({ outcome: "error", status: 500 }), T0, options);
  assert.equal(state.coolingUntil, T0 + 5000);
  applyFeedback(state, fb({ outcome: "error", status: 500 }), T0 + 4000, options);
  assert.equal(state.coolingUntil, T0 + 5000);
  assert.equal(state.fails.length, 0);
});
