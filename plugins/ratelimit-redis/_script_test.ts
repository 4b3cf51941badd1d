import assert from "node:assert/strict";
import { compileRules } from "../ratelimit-memory/_rules.ts";
import type { KeyLayout } from "./_keys.ts";
import { planAcquire, planSettle, readAcquireReply, readSettleReply } from "./_script.ts";

const RULES = compileRules([
  { name: "per-subject", match: {}, key_by: ["subject"], window: "1m", requests: 2, tokens: 1000 },
  { name: "o1", match: { model: "o1*" }, key_by: ["subject", "model"], window: "1s", requests: 1 },
  { name: "acme", match: { tenant: "acme" }, key_by: ["tenant"], window: "1d", tokens: 5000 },
]);
const LAYOUT: KeyLayout = { prefix: "p:", tagFields: [] };
const CALLER = { subject: "alice", tenant: "acme", model: "gpt-4o" };

Deno.test("planAcquire() sends each matching rule's window and limits, in config order", () => {
  const plan = planAcquire(LAYOUT, RULES, {
    caller: CALLER,
    estimatedTokens: 400,
    nonce: "n1",
    now: 1_000,
  })!;
  assert.deepEqual(plan.keys, [
    "p:{*}:r:n1",
    "p:{*}:w:11:per-subject:5:alice|",
    "p:{*}:w:4:acme:4:acme|",
  ]);
  assert.deepEqual(plan.args, [
    "1000",
    "400",
    ...["60000", "2", "1000", "per-subject"],
    ...["86400000", "-1", "5000", "acme"],
  ]);
  assert.deepEqual(plan.applied.map((rule) => rule.name), ["per-subject", "acme"]);
  assert.match(plan.reservation!, /^r1\./);
});

Deno.test("planAcquire() asks the server's clock, and gives no reservation without a token rule", () => {
  const rules = compileRules([
    { name: "rpm", match: {}, key_by: [], window: "1m", requests: 5 },
  ]);
  const plan = planAcquire(LAYOUT, rules, {
    caller: CALLER,
    estimatedTokens: 0,
    nonce: "n",
    now: null,
  })!;
  assert.equal(plan.args[0], "");
  assert.equal(plan.reservation, null);
  const o1Only = compileRules([
    { name: "o1", match: { model: "o1*" }, key_by: [], window: "1s", requests: 1 },
  ]);
  const none = planAcquire(LAYOUT, o1Only, {
    caller: CALLER,
    estimatedTokens: 0,
    nonce: "n",
    now: null,
  });
  assert.equal(none, null, "no rule matches: nothing to ask");
});

Deno.test("readAcquireReply() answers like ratelimit-memory from the script's counts", () => {
  const plan = planAcquire(LAYOUT, RULES, {
    caller: CALLER,
    estimatedTokens: 400,
    nonce: "n1",
    now: null,
  })!;
  const admitted = readAcquireReply(plan, [1, 59_999, 0, 1, 400, 60_000, 1, 400, 86_400_000]);
  assert.deepEqual(admitted, {
    allowed: true,
    reservation: plan.reservation,
    limits: [
      { name: "per-subject", unit: "requests", limit: 2, remaining: 1, reset_ms: 1 },
      { name: "per-subject", unit: "tokens", limit: 1000, remaining: 600, reset_ms: 1 },
      { name: "acme", unit: "tokens", limit: 5000, remaining: 4600, reset_ms: 86_340_001 },
    ],
  });
  const refused = readAcquireReply(plan, [0, 59_000, 1000, 2, 1200, 60_000, 3, 1200, 86_400_000]);
  assert.deepEqual(refused, {
    allowed: false,
    retry_after_ms: 1000,
    limits: [
      { name: "per-subject", unit: "requests", limit: 2, remaining: 0, reset_ms: 1000 },
      { name: "per-subject", unit: "tokens", limit: 1000, remaining: 0, reset_ms: 1000 },
      { name: "acme", unit: "tokens", limit: 5000, remaining: 3800, reset_ms: 86_341_000 },
    ],
  });
});

Deno.test("readAcquireReply() refuses a reply of another shape", () => {
  const plan = planAcquire(LAYOUT, RULES, {
    caller: CALLER,
    estimatedTokens: 1,
    nonce: "n",
    now: null,
  })!;
  for (
    const reply of [null, "OK", [1, 2, 3], [1, 2, 3, 4, 5, 6, 7, 8, "9"], [
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      9.5,
    ]]
  ) {
    assert.throws(() => readAcquireReply(plan, reply), TypeError, JSON.stringify(reply));
  }
});

Deno.test("planSettle() names the reservation and every token rule's window of its caller", () => {
  const plan = planAcquire(LAYOUT, RULES, {
    caller: { ...CALLER, model: "o1-mini", groups: ["admins"] },
    estimatedTokens: 1,
    nonce: "n7",
    now: null,
  })!;
  const call = planSettle(LAYOUT, RULES, {
    reservation: plan.reservation!,
    actualTokens: 30,
    now: 5,
  });
  assert.deepEqual(call, {
    keys: ["p:{*}:r:n7", "p:{*}:w:11:per-subject:5:alice|", "p:{*}:w:4:acme:4:acme|"],
    args: ["5", "30", "per-subject", "60000", "acme", "86400000"],
  });
  assert.equal(planSettle(LAYOUT, RULES, { reservation: "x", actualTokens: 1, now: null }), null);
});

Deno.test("readSettleReply() is true when some window was corrected", () => {
  assert.equal(readSettleReply(2), true);
  assert.equal(readSettleReply(0), false);
  assert.equal(readSettleReply(-1), false);
  assert.throws(() => readSettleReply("1"), TypeError);
});
