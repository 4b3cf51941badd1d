import assert from "node:assert/strict";
import type { FeedbackParams, RouteParams } from "@vulpes/contract/capabilities";
import { check } from "@vulpes/contract/capabilities";
import type { PluginInstance } from "@vulpes/contract/plugin";
import { PluginError, servePlugin } from "@vulpes/contract/plugin";
import { createLinkedPair, Peer } from "@vulpes/contract/protocol";
import { createTestCall, createTestContext, type TestContext } from "@vulpes/contract/testing";
import { configSchema } from "./config.ts";
import { plugin } from "./mod.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");

const CONFIG = {
  model_list: [
    { model_name: "gpt-4o", upstream: "azure", model: "gpt-4o-eu", id: "azure-eu", rpm: 600 },
    { model_name: "gpt-4o", upstream: "openai", model: "gpt-4o", rpm: 200 },
    { model_name: "gpt-4o-mini", upstream: "openai", model: "gpt-4o-mini" },
  ],
  fallbacks: [{ "gpt-4o": ["gpt-4o-mini"] }],
  num_retries: 1,
  allowed_fails: 1,
  cooldown_time: 10,
  model_group_alias: { fast: "gpt-4o-mini" },
};

interface Harness {
  instance: PluginInstance;
  context: TestContext;
  clock: { now: number };
}

async function start(config: unknown = CONFIG): Promise<Harness> {
  const clock = { now: T0 };
  const context = createTestContext({ now: () => clock.now });
  const instance = await plugin.create(configSchema.parse(config), context);
  return { instance, context, clock };
}

const call = createTestCall();

function params(model: string, fields: Partial<RouteParams["request"]> = {}): RouteParams {
  return {
    model,
    identity: { groups: [] },
    request: { stream: false, estimated_tokens: 10, ...fields },
  };
}

async function route(h: Harness, model = "gpt-4o", fields: Partial<RouteParams["request"]> = {}) {
  return (await h.instance.router!.route(params(model, fields), call)).routes;
}

async function feedback(
  h: Harness,
  fields: { [K in keyof FeedbackParams]?: FeedbackParams[K] | undefined },
) {
  const merged: Record<string, unknown> = {
    upstream: "azure",
    model: "gpt-4o-eu",
    deployment: "azure-eu",
    outcome: "success",
    latency_ms: 100,
    ...fields,
  };
  for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
  await h.instance.router!.feedback!(merged as unknown as FeedbackParams, call);
}

async function detail(h: Harness) {
  const health = await h.instance.health!();
  return health as {
    status: string;
    detail: {
      cooling_model_groups: string[];
      deployments: Record<string, Record<string, unknown>>;
    };
  };
}

Deno.test("route() returns the group's deployments with retries, then fallbacks", async () => {
  const h = await start();
  const routes = await route(h);
  assert.deepEqual(routes.map((r) => r.deployment).slice(0, 2).sort(), [
    "azure-eu",
    "openai/gpt-4o",
  ]);
  assert.deepEqual(routes.slice(2), [
    { upstream: "openai", model: "gpt-4o-mini", deployment: "openai/gpt-4o-mini" },
    { upstream: "openai", model: "gpt-4o-mini", deployment: "openai/gpt-4o-mini" },
  ]);
  assert.equal((await route(h, "fast"))[0]!.model, "gpt-4o-mini");
});

Deno.test("route() counts the first route in flight until its feedback", async () => {
  const h = await start({ ...CONFIG, routing_strategy: "least-busy" });
  const first = (await route(h))[0]!.deployment!;
  const second = (await route(h))[0]!.deployment!;
  assert.notEqual(first, second, "least-busy spreads requests in flight");
  let d = (await detail(h)).detail.deployments;
  assert.equal(d[first]!.in_flight, 1);
  assert.equal(d[first]!.rpm, 1);
  assert.equal(d[first]!.tpm, 10);
  const [upstream, model] = first === "azure-eu" ? ["azure", "gpt-4o-eu"] : ["openai", "gpt-4o"];
  await feedback(h, {
    deployment: first,
    upstream,
    model,
    usage: { prompt_tokens: 30, completion_tokens: 12, total_tokens: 42 },
  });
  d = (await detail(h)).detail.deployments;
  assert.equal(d[first]!.in_flight, 0);
  assert.equal(d[first]!.tpm, 42, "usage replaces the estimate");
  assert.equal(d[first]!.latency_avg_ms, 100);
  // Without feedback, the count ends after in_flight_timeout (600 s by default).
  h.clock.now += 600_000;
  assert.equal((await detail(h)).detail.deployments[second]!.in_flight, 0);
});

Deno.test("feedback() cools a deployment down after allowed_fails and lets it back on time", async () => {
  const h = await start({ ...CONFIG, routing_strategy: "cost-based-routing" });
  await feedback(h, { outcome: "error", status: 500 });
  assert.equal((await detail(h)).detail.deployments["azure-eu"]!.cooldown_until, null);
  h.clock.now += 1000;
  await feedback(h, { outcome: "error", status: 502 });
  const cooling = (await detail(h)).detail.deployments["azure-eu"]!;
  assert.equal(cooling.cooldown_until, "2026-01-01T00:00:11.000Z");
  assert.equal(cooling.cooldown_reason, "allowed_fails exceeded");
  assert.ok(h.context.logs.some((l) => l.msg === "deployment cooling down" && l.level === "warn"));
  for (let i = 0; i < 20; i++) {
    assert.ok(!(await route(h)).some((r) => r.deployment === "azure-eu"), "not while cooling");
  }
  h.clock.now = T0 + 11_000;
  const back = new Set<string | undefined>();
  for (let i = 0; i < 20; i++) back.add((await route(h))[0]!.deployment);
  assert.ok(back.has("azure-eu"), "back at the end of the cooldown");
  assert.equal((await detail(h)).detail.deployments["azure-eu"]!.cooldown_until, null);
});

Deno.test("route() answers rate_limited with retry_after_ms when every deployment cools down", async () => {
  const h = await start();
  await feedback(h, { outcome: "rate_limited", status: 429, retry_after_ms: 30_000 });
  await feedback(h, {
    deployment: "openai/gpt-4o",
    upstream: "openai",
    model: "gpt-4o",
    outcome: "rate_limited",
    status: 429,
  });
  await feedback(h, {
    deployment: undefined,
    upstream: "openai",
    model: "gpt-4o-mini",
    outcome: "error",
    status: 401,
  });
  const health = await detail(h);
  assert.equal(health.status, "degraded");
  assert.deepEqual(health.detail.cooling_model_groups.sort(), ["gpt-4o", "gpt-4o-mini"]);
  h.clock.now += 4000;
  const error = await route(h).then(() => null, (e) => e);
  assert.ok(error instanceof PluginError, String(error));
  assert.equal(error.type, "rate_limited");
  assert.equal(error.data.retry_after_ms, 6000, "the 10 s cooldown_time ends first");
  h.clock.now += 6000;
  assert.deepEqual((await route(h)).map((r) => r.deployment), [
    "openai/gpt-4o",
    "openai/gpt-4o",
    "openai/gpt-4o-mini",
    "openai/gpt-4o-mini",
  ]);
});

Deno.test("feedback() for an unknown or ambiguous deployment changes nothing", async () => {
  const h = await start();
  await feedback(h, { deployment: "nope", outcome: "rate_limited" });
  await feedback(h, { deployment: undefined, upstream: "x", model: "y", outcome: "rate_limited" });
  assert.equal((await detail(h)).status, "ok");
  assert.ok(h.context.logs.some((l) => l.msg === "feedback for an unknown deployment"));
});

Deno.test("route() uses usage-based-routing to stay under rpm limits", async () => {
  const h = await start({
    model_list: [
      { model_name: "m", upstream: "a", model: "m", rpm: 2 },
      { model_name: "m", upstream: "b", model: "m", rpm: 3 },
    ],
    routing_strategy: "usage-based-routing",
    num_retries: 0,
  });
  const picks = [];
  for (let i = 0; i < 5; i++) picks.push((await route(h, "m"))[0]!.upstream);
  assert.deepEqual(picks.filter((u) => u === "a").length, 2);
  assert.deepEqual(picks.filter((u) => u === "b").length, 3);
  const error = await route(h, "m").then(() => null, (e) => e);
  assert.ok(error instanceof PluginError && error.type === "rate_limited", String(error));
  assert.equal(error.data.retry_after_ms, 60_000);
  h.clock.now += 60_000;
  assert.equal((await route(h, "m")).length, 1);
});

Deno.test("route() under latency-based-routing follows the feedback's latencies", async () => {
  const h = await start({ ...CONFIG, routing_strategy: "latency-based-routing" });
  await feedback(h, { latency_ms: 900 });
  await feedback(h, {
    deployment: "openai/gpt-4o",
    upstream: "openai",
    model: "gpt-4o",
    latency_ms: 200,
    ttft_ms: 150,
  });
  for (let i = 0; i < 10; i++) assert.equal((await route(h))[0]!.deployment, "openai/gpt-4o");
});

Deno.test("models() lists model groups and visible aliases", async () => {
  const h = await start({
    ...CONFIG,
    model_group_alias: { fast: "gpt-4o-mini", hidden: { model: "gpt-4o", hidden: true } },
    owned_by: "acme",
  });
  assert.deepEqual(await h.instance.router!.models({}, call), {
    models: [
      { id: "fast", owned_by: "acme" },
      { id: "gpt-4o", owned_by: "acme" },
      { id: "gpt-4o-mini", owned_by: "acme" },
    ],
  });
});

Deno.test("create() warns when deployments have tags but tag filtering is off", async () => {
  const h = await start({
    model_list: [{ model_name: "m", upstream: "u", model: "m", tags: ["free"] }],
  });
  assert.ok(h.context.logs.some((l) =>
    l.level === "warn" && /enable_tag_filtering/.test(
      String(l.msg),
    )
  ));
});

Deno.test("configSchema fills in LiteLLM's defaults", () => {
  const config = configSchema.parse({
    model_list: [{ model_name: "m", upstream: "u", model: "m" }],
  });
  assert.equal(config.routing_strategy, "simple-shuffle");
  assert.equal(config.num_retries, 2);
  assert.equal(config.allowed_fails, 3);
  assert.equal(config.cooldown_time, 5);
  assert.deepEqual(config.routing_strategy_args, {
    lowest_latency_buffer: 0,
    max_latency_list_size: 10,
    ttl: 3600,
  });
  assert.deepEqual(config.fallbacks, []);
});

Deno.test("configSchema lists every bad field path in one pass", () => {
  const result = check(configSchema, {
    model_list: [
      { model_name: "a", upstream: "u", model: "x" },
      { model_name: "a", upstream: "u", model: "x", rpm: 0 },
      { model_name: "b", litellm_params: { model: "azure/gpt" } },
    ],
    routing_strategy: "round-robin",
    fallbacks: [{ a: ["a", "nope"] }, { ghost: ["a"] }],
    context_window_fallbacks: [{ a: [] }],
    default_fallbacks: ["c"],
    model_group_alias: { a: "b", z: "missing" },
    colour: "red",
  });
  assert.equal(result.ok, false);
  const issues = result.ok ? [] : result.issues;
  const paths = [...new Set(issues.map((issue) => issue.path))].sort();
  assert.deepEqual(paths, [
    "colour",
    "context_window_fallbacks[0].a",
    "default_fallbacks[0]",
    "fallbacks[0].a[0]",
    "fallbacks[0].a[1]",
    "fallbacks[1].ghost",
    "model_group_alias.a",
    "model_group_alias.z",
    "model_list[1].id",
    "model_list[1].rpm",
    "model_list[2].litellm_params",
    "model_list[2].model",
    "model_list[2].upstream",
    "routing_strategy",
  ]);
  const message = (path: string) => issues.filter((i) => i.path === path).map((i) => i.message);
  assert.deepEqual(message("model_list[2].litellm_params"), [
    "unknown key: remove it or check its spelling",
  ]);
  assert.match(message("model_list[1].id")[0]!, /also the id of model_list\[0\]/);
  assert.match(message("fallbacks[0].a[0]")[0]!, /falls back to itself/);
});

Deno.test("the plugin routes and takes feedback over the protocol in memory", async () => {
  const [core, side] = createLinkedPair();
  let now = T0;
  const served = servePlugin(plugin, side, { writeLog: () => {}, context: { now: () => now } });
  const host = new Peer(core);
  await host.start();
  await host.request("initialize", {
    protocol_version: "1",
    instance: "router",
    capabilities: ["router"],
    config: { ...CONFIG, allowed_fails: 0 },
    settings: { capture_payloads: false },
  });
  const first = await host.request("router.route", params("gpt-4o-mini")) as {
    routes: { deployment: string }[];
  };
  assert.equal(first.routes[0]!.deployment, "openai/gpt-4o-mini");
  host.notify("router.feedback", {
    deployment: "openai/gpt-4o-mini",
    upstream: "openai",
    model: "gpt-4o-mini",
    outcome: "timeout",
    latency_ms: 30_000,
  });
  await new Promise((resolve) => setTimeout(resolve, 50));
  const health = await host.request("health") as {
    status: string;
    detail: { deployments: Record<string, { cooldown_until: string | null }> };
  };
  assert.equal(health.status, "degraded");
  assert.equal(
    health.detail.deployments["openai/gpt-4o-mini"]!.cooldown_until,
    "2026-01-01T00:00:10.000Z",
  );
  now += 10_000;
  assert.equal((await host.request("health") as { status: string }).status, "ok");
  await host.request("shutdown");
  await served.done;
});
