import assert from "node:assert/strict";
import { PluginError } from "@vulpes/contract/plugin";
import { configSchema } from "./config.ts";
import {
  compileTable,
  fallbackChain,
  type PlanRequest,
  planRoutes,
  type PlanSettings,
  type RoutingTable,
} from "./_fallbacks.ts";
import { newState, refresh, type StateOptions } from "./_state.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");

const STATE_OPTIONS: StateOptions = {
  allowedFails: 3,
  cooldownMs: 5000,
  maxCooldownMs: 3_600_000,
  disableCooldowns: false,
  inFlightTimeoutMs: 600_000,
  latencySamples: 10,
  latencyTtlMs: 3_600_000,
};

function table(input: Record<string, unknown>): RoutingTable {
  return compileTable(configSchema.parse(input), () => newState());
}

function settings(fields: Partial<PlanSettings> = {}): PlanSettings {
  let seed = 0x1234;
  return {
    strategy: "simple-shuffle",
    numRetries: 0,
    maxFallbacks: 5,
    tagFiltering: false,
    latencyBuffer: 0,
    now: T0,
    random: () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 4294967296;
    },
    refresh: (state) => refresh(state, fields.now ?? T0, STATE_OPTIONS),
    ...fields,
  };
}

function request(fields: Partial<PlanRequest> = {}): PlanRequest {
  return { model: "gpt-4o", stream: false, tokens: 100, ...fields };
}

function ids(plan: { routes: { deployment?: string }[] }): (string | undefined)[] {
  return plan.routes.map((route) => route.deployment);
}

function d(model_name: string, id: string, extra: Record<string, unknown> = {}) {
  return { model_name, upstream: "u", model: id, id, ...extra };
}

Deno.test("planRoutes() gives the group's routes, then its fallbacks, in order", () => {
  const t = table({
    model_list: [d("gpt-4o", "a"), d("gpt-4o-mini", "b"), d("claude", "c")],
    fallbacks: [{ "gpt-4o": ["gpt-4o-mini", "claude"] }],
  });
  assert.deepEqual(ids(planRoutes(t, request(), settings())), ["a", "b", "c"]);
  assert.deepEqual(ids(planRoutes(t, request({ model: "claude" }), settings())), ["c"]);
});

Deno.test("planRoutes() uses default_fallbacks for a group without fallbacks", () => {
  const t = table({
    model_list: [d("gpt-4o", "a"), d("spare", "s"), d("other", "o")],
    fallbacks: [{ other: ["gpt-4o"] }],
    default_fallbacks: ["spare"],
  });
  assert.deepEqual(ids(planRoutes(t, request(), settings())), ["a", "s"]);
  assert.deepEqual(ids(planRoutes(t, request({ model: "other" }), settings())), ["o", "a"]);
});

Deno.test("planRoutes() adds num_retries routes per group, cycling a small group", () => {
  const t = table({
    model_list: [d("gpt-4o", "a"), d("gpt-4o", "b"), d("gpt-4o", "c"), d("mini", "m")],
    fallbacks: [{ "gpt-4o": ["mini"] }],
  });
  const plan = planRoutes(t, request(), settings({ numRetries: 1 }));
  assert.equal(plan.routes.length, 4);
  assert.equal(new Set(ids(plan).slice(0, 2)).size, 2, "two different deployments of the group");
  assert.deepEqual(ids(plan).slice(2), ["m", "m"], "the fallback group retried too");
});

Deno.test("planRoutes() tries lower order tiers before higher ones", () => {
  const t = table({
    model_list: [
      d("gpt-4o", "backup", { order: 2 }),
      d("gpt-4o", "unordered"),
      d("gpt-4o", "primary1", { order: 1 }),
      d("gpt-4o", "primary2", { order: 1 }),
    ],
  });
  for (let i = 0; i < 20; i++) {
    const plan = planRoutes(t, request(), settings({ numRetries: 3, now: T0 + i }));
    assert.deepEqual(ids(plan).slice(2), ["backup", "unordered"]);
    assert.deepEqual(ids(plan).slice(0, 2).sort(), ["primary1", "primary2"]);
  }
});

Deno.test("planRoutes() skips cooling deployments and falls to the next tier", () => {
  const t = table({
    model_list: [d("gpt-4o", "p", { order: 1 }), d("gpt-4o", "s", { order: 2 })],
  });
  t.byId.get("p")!.state.coolingUntil = T0 + 1000;
  assert.deepEqual(ids(planRoutes(t, request(), settings())), ["s"]);
  assert.deepEqual(ids(planRoutes(t, request(), settings({ now: T0 + 1000 }))), ["p"]);
});

Deno.test("planRoutes() answers rate_limited with the earliest return when all are cooling", () => {
  const t = table({
    model_list: [d("gpt-4o", "a"), d("gpt-4o", "b"), d("mini", "m")],
    fallbacks: [{ "gpt-4o": ["mini"] }],
  });
  t.byId.get("a")!.state.coolingUntil = T0 + 30_000;
  t.byId.get("b")!.state.coolingUntil = T0 + 9_000;
  t.byId.get("m")!.state.coolingUntil = T0 + 12_000;
  assert.throws(
    () => planRoutes(t, request(), settings()),
    (error) =>
      error instanceof PluginError && error.type === "rate_limited" &&
      error.data.retry_after_ms === 9_000 &&
      error.message ===
        'Every deployment of "gpt-4o" and its fallbacks is cooling down or at its rate limit; the first is back in 9 s',
  );
});

Deno.test("planRoutes() skips deployments at their rpm or tpm limit, until the minute ends", () => {
  const t = table({
    model_list: [d("gpt-4o", "small", { rpm: 1 }), d("gpt-4o", "tokens", { tpm: 150 })],
  });
  t.byId.get("small")!.state.rpm = 1;
  t.byId.get("small")!.state.minute = T0 / 60_000;
  t.byId.get("tokens")!.state.minute = T0 / 60_000;
  assert.deepEqual(ids(planRoutes(t, request({ tokens: 150 }), settings())), ["tokens"]);
  assert.throws(
    () => planRoutes(t, request({ tokens: 151 }), settings({ now: T0 + 45_000 })),
    (error) =>
      error instanceof PluginError && error.type === "rate_limited" &&
      error.data.retry_after_ms === 15_000,
  );
  // The next minute starts from zero.
  assert.deepEqual(ids(planRoutes(t, request(), settings({ now: T0 + 60_000 }))).length, 1);
});

Deno.test("planRoutes() leaves out deployments too small and adds context_window_fallbacks", () => {
  const t = table({
    model_list: [
      d("gpt-4o", "small", { max_input_tokens: 8000 }),
      d("gpt-4o", "large", { max_input_tokens: 128_000 }),
      d("long", "long", { max_input_tokens: 1_000_000 }),
      d("mini", "mini"),
    ],
    context_window_fallbacks: [{ "gpt-4o": ["long"] }],
    fallbacks: [{ "gpt-4o": ["mini"] }],
  });
  assert.deepEqual(
    ids(planRoutes(t, request({ tokens: 9000 }), settings())),
    ["large", "long", "mini"],
    "context-window fallbacks come before the general ones",
  );
  assert.deepEqual(ids(planRoutes(t, request({ tokens: 200_000 }), settings())), ["long", "mini"]);
  const fits = ids(planRoutes(t, request({ tokens: 100 }), settings({ numRetries: 1 })));
  assert.deepEqual([...fits].slice(0, 2).sort(), ["large", "small"]);
  assert.deepEqual(fits.slice(2), ["mini", "mini"], "no context fallback when everything fits");
});

Deno.test("planRoutes() answers bad_request when no deployment has a large enough context", () => {
  const t = table({ model_list: [d("gpt-4o", "small", { max_input_tokens: 8000 })] });
  assert.throws(
    () => planRoutes(t, request({ tokens: 8001 }), settings()),
    (error) =>
      error instanceof PluginError && error.type === "bad_request" &&
      error.data.code === "context_length_exceeded" &&
      /about 8001 tokens\) exceeds the context window of every deployment of "gpt-4o"/.test(
        error.message,
      ),
  );
});

Deno.test("planRoutes() appends content_policy_fallbacks last, marked for the core", () => {
  const t = table({
    model_list: [d("gpt-4o", "a"), d("mini", "m"), d("claude", "c")],
    fallbacks: [{ "gpt-4o": ["mini"] }],
    content_policy_fallbacks: [{ "gpt-4o": ["claude"] }],
  });
  const plan = planRoutes(t, request(), settings());
  assert.deepEqual(ids(plan), ["a", "m", "c"]);
  assert.deepEqual(plan.routes[2]!.fallback_on, ["content_policy"]);
  assert.equal(plan.routes[2]!.options, undefined);
  assert.equal(plan.routes[0]!.options, undefined);
  assert.equal(plan.first.id, "a");
  // Content-policy routes are no way out when every other deployment is cooling down.
  t.byId.get("a")!.state.coolingUntil = T0 + 1000;
  t.byId.get("m")!.state.coolingUntil = T0 + 2000;
  assert.throws(
    () => planRoutes(t, request(), settings()),
    (error) => error instanceof PluginError && error.data.retry_after_ms === 1000,
  );
});

Deno.test("fallbackChain() lists each group once and stops at max_fallbacks", () => {
  const t = table({
    model_list: ["a", "b", "c", "d"].map((g) => d(g, g)),
    fallbacks: [{ a: ["b", "c", "b", "d"] }],
    context_window_fallbacks: [{ a: ["c"] }],
  });
  assert.deepEqual(fallbackChain(t, "a", true, 5).map((x) => `${x.kind}:${x.group}`), [
    "model:a",
    "context_window:c",
    "fallbacks:b",
    "fallbacks:d",
  ]);
  assert.deepEqual(fallbackChain(t, "a", false, 1).map((x) => x.group), ["a", "b"]);
  assert.deepEqual(fallbackChain(t, "a", false, 0).map((x) => x.group), ["a"]);
});

Deno.test("planRoutes() never repeats a deployment across groups", () => {
  const t = table({
    model_list: [d("a", "x"), d("b", "y")],
    fallbacks: [{ a: ["b"] }, { b: ["a"] }],
  });
  assert.deepEqual(ids(planRoutes(t, request({ model: "b" }), settings())), ["y", "x"]);
});

Deno.test("planRoutes() selects deployments by request tags, else those tagged default", () => {
  const t = table({
    model_list: [
      d("gpt-4o", "free", { tags: ["free"] }),
      d("gpt-4o", "paid", { tags: ["paid", "eu"] }),
      d("gpt-4o", "std", { tags: ["default"] }),
    ],
    enable_tag_filtering: true,
  });
  const on = settings({ tagFiltering: true, numRetries: 2 });
  assert.deepEqual(ids(planRoutes(t, request({ tags: ["free"] }), on)), ["free", "free", "free"]);
  assert.deepEqual(ids(planRoutes(t, request({ tags: ["eu"] }), on))[0], "paid");
  assert.deepEqual(ids(planRoutes(t, request({ tags: ["other"] }), on))[0], "std");
  assert.deepEqual(ids(planRoutes(t, request(), on))[0], "std");
  // Tag filtering off: every deployment.
  const off = planRoutes(t, request({ tags: ["free"] }), settings({ numRetries: 2 }));
  assert.deepEqual([...ids(off)].sort(), ["free", "paid", "std"]);
});

Deno.test("planRoutes() answers bad_request when no deployment has the tags and none is default", () => {
  const t = table({
    model_list: [d("gpt-4o", "free", { tags: ["free"] }), d("gpt-4o", "open")],
  });
  const on = settings({ tagFiltering: true });
  assert.deepEqual(ids(planRoutes(t, request(), on)).length, 1, "untagged requests go anywhere");
  assert.throws(
    () => planRoutes(t, request({ tags: ["gold"] }), on),
    (error) =>
      error instanceof PluginError && error.type === "bad_request" && error.data.param === "tags",
  );
});

Deno.test("planRoutes() resolves model_group_alias and answers not_found for unknown models", () => {
  const t = table({
    model_list: [d("gpt-4o", "a")],
    model_group_alias: { fast: "gpt-4o", secret: { model: "gpt-4o", hidden: true } },
  });
  assert.deepEqual(ids(planRoutes(t, request({ model: "fast" }), settings())), ["a"]);
  assert.deepEqual(ids(planRoutes(t, request({ model: "secret" }), settings())), ["a"]);
  assert.throws(
    () => planRoutes(t, request({ model: "llama" }), settings()),
    (error) =>
      error instanceof PluginError && error.type === "not_found" &&
      error.message === 'Model "llama" is not served; served models: fast, gpt-4o, secret',
  );
});

Deno.test("compileTable() puts api_base into the route's options.base_url", () => {
  const t = table({
    model_list: [
      d("gpt-4o", "a", { api_base: "https://eu.example.com/v1", options: { region: "eu" } }),
    ],
  });
  assert.deepEqual(t.byId.get("a")!.route, {
    upstream: "u",
    model: "a",
    deployment: "a",
    options: { region: "eu", base_url: "https://eu.example.com/v1" },
  });
});
