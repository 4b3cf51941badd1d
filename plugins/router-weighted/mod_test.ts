import assert from "node:assert/strict";
import type { RouteParams } from "@vulpes/contract/capabilities";
import type { PluginContext, PluginInstance } from "@vulpes/contract/plugin";
import { servePlugin } from "@vulpes/contract/plugin";
import { createLinkedPair, Peer, PluginError, RpcError } from "@vulpes/contract/protocol";
import { createTestCall, createTestContext } from "@vulpes/contract/testing";
import { check } from "@vulpes/contract/capabilities";
import { configSchema } from "./config.ts";
import { plugin } from "./mod.ts";

const CONFIG = {
  models: {
    "gpt-4o": {
      strategy: "weighted",
      owned_by: "openai",
      targets: [
        { upstream: "openai", weight: 1 },
        { upstream: "azure", model: "gpt-4o-prod", weight: 3, options: { region: "eu" } },
      ],
    },
    "claude-3-5-sonnet": {
      strategy: "shuffled",
      targets: [{ upstream: "anthropic" }, { upstream: "bedrock", model: "anthropic.claude" }],
    },
    "gpt-*": { targets: [{ upstream: "openai" }, { upstream: "fallback", model: "gpt-4o-mini" }] },
    "*": { targets: [{ upstream: "local", deployment: "local-catch-all" }] },
  },
  aliases: { fast: "gpt-4o", "gpt-newest": "gpt-5" },
};

async function instance(
  config: unknown = CONFIG,
  context: Partial<PluginContext> = {},
): Promise<PluginInstance> {
  return await plugin.create(configSchema.parse(config), createTestContext(context));
}

const call = createTestCall();

function params(model: string): RouteParams {
  return { model, identity: { groups: [] }, request: { stream: false, estimated_tokens: 10 } };
}

async function route(p: PluginInstance, model: string) {
  return (await p.router!.route(params(model), call)).routes;
}

/** A random source that returns the given numbers in turn. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

Deno.test("route() orders a weighted model by the context's random numbers", async () => {
  // Weights 1:3 over a total of 4: 0.2 × 4 = 0.8 < 1 picks openai, 0.3 × 4 = 1.2 picks azure.
  const low = await instance(CONFIG, { random: sequence(0.2) });
  assert.deepEqual(await route(low, "gpt-4o"), [
    { upstream: "openai", model: "gpt-4o", deployment: "openai/gpt-4o" },
    {
      upstream: "azure",
      model: "gpt-4o-prod",
      deployment: "azure/gpt-4o-prod",
      options: { region: "eu" },
    },
  ]);
  const high = await instance(CONFIG, { random: sequence(0.3) });
  assert.deepEqual((await route(high, "gpt-4o")).map((r) => r.upstream), ["azure", "openai"]);
});

Deno.test("route() draws from the context's random source, so a seeded context repeats", async () => {
  const draw = async () => {
    const p = await instance();
    const orders = [];
    for (let i = 0; i < 20; i++) orders.push((await route(p, "claude-3-5-sonnet"))[0]!.upstream);
    return orders;
  };
  const first = await draw();
  assert.deepEqual(await draw(), first);
  assert.ok(first.includes("anthropic") && first.includes("bedrock"), first.join());
});

Deno.test("route() resolves an alias to its model, and sends the model's name upstream", async () => {
  const p = await instance(CONFIG, { random: sequence(0) });
  const routes = await route(p, "fast");
  assert.deepEqual(routes[0], { upstream: "openai", model: "gpt-4o", deployment: "openai/gpt-4o" });
  // An alias to a name that a pattern serves: the pattern's targets, with that name.
  assert.deepEqual(await route(p, "gpt-newest"), [
    { upstream: "openai", model: "gpt-5", deployment: "openai/gpt-5" },
    { upstream: "fallback", model: "gpt-4o-mini", deployment: "fallback/gpt-4o-mini" },
  ]);
});

Deno.test("route() serves exact keys before patterns, and the longest literal prefix first", async () => {
  const p = await instance();
  assert.equal((await route(p, "gpt-4o")).length, 2);
  assert.deepEqual((await route(p, "gpt-4.1")).map((r) => r.model), ["gpt-4.1", "gpt-4o-mini"]);
  assert.deepEqual(await route(p, "mistral-large"), [
    { upstream: "local", model: "mistral-large", deployment: "local-catch-all" },
  ]);
});

Deno.test("route() refuses an unknown model with not_found listing what is served", async () => {
  const { "*": _catchAll, ...models } = CONFIG.models;
  const p = await instance({ ...CONFIG, models });
  await assert.rejects(
    async () => await p.router!.route(params("llama-3"), call),
    (error) => {
      assert.ok(error instanceof PluginError, String(error));
      assert.equal(error.type, "not_found");
      assert.equal(
        error.message,
        'Model "llama-3" is not served; served models: claude-3-5-sonnet, fast, gpt-*, gpt-4o, gpt-newest',
      );
      assert.equal(error.data.param, "model");
      return true;
    },
  );
});

Deno.test("models() lists exact keys and aliases with owned_by, not patterns", async () => {
  const p = await instance();
  assert.deepEqual(await p.router!.models({}, call), {
    models: [
      { id: "claude-3-5-sonnet", owned_by: "vulpes" },
      { id: "fast", owned_by: "openai" },
      { id: "gpt-4o", owned_by: "openai" },
      { id: "gpt-newest", owned_by: "vulpes" },
    ],
  });
});

Deno.test("feedback() is accepted and changes nothing", async () => {
  const p = await instance(CONFIG, { random: sequence(0.2) });
  const before = await route(p, "gpt-4o");
  await p.router!.feedback!({
    deployment: "azure/gpt-4o-prod",
    upstream: "azure",
    model: "gpt-4o-prod",
    outcome: "rate_limited",
    status: 429,
    latency_ms: 12,
  }, { ...call, id: 0 });
  assert.deepEqual(await route(p, "gpt-4o"), before);
});

Deno.test("health() counts models, aliases and patterns", async () => {
  const p = await instance();
  assert.deepEqual(await p.health!(), {
    status: "ok",
    detail: { models: 2, aliases: 2, patterns: 2 },
  });
});

Deno.test("configSchema fills in strategy, owned_by and aliases", () => {
  assert.deepEqual(configSchema.parse({ models: { m: { targets: [{ upstream: "u" }] } } }), {
    models: { m: { strategy: "ordered", targets: [{ upstream: "u" }], owned_by: "vulpes" } },
    aliases: {},
  });
});

Deno.test("configSchema lists every bad field path in one pass", () => {
  const result = check(configSchema, {
    models: {
      "": { targets: [{ upstream: "u" }] },
      a: { strategy: "random", targets: [] },
      b: { targets: [{ upstream: "", weight: 2, colour: "red" }], owned_by: "" },
      c: { strategy: "weighted", targets: [{ upstream: "x", weight: 0 }, { upstream: "y" }] },
      "d-*": { targets: [{ upstream: "u" }] },
    },
    aliases: {
      "fast*": "c",
      loop: "fast",
      fast: "b",
      ghost: "nowhere",
      c: "a",
      pattern: "d-*",
      viaPattern: "d-1",
    },
    colour: "red",
  });
  assert.equal(result.ok, false);
  const issues = result.ok ? [] : result.issues;
  const byPath = (path: string) =>
    issues.filter((i) => i.path === path).map((i) => i.message).join(" / ");
  assert.deepEqual(issues.map((issue) => issue.path).sort(), [
    "aliases.c",
    "aliases.ghost",
    "aliases.loop",
    "aliases.pattern",
    'aliases["fast*"]',
    "colour",
    "models.a.strategy",
    "models.a.targets",
    "models.b.owned_by",
    "models.b.targets[0].colour",
    "models.b.targets[0].upstream",
    "models.b.targets[0].weight",
    "models.c.targets[0].weight",
    'models[""]',
  ]);
  assert.match(byPath("aliases.loop"), /another alias: aliases do not chain/);
  assert.match(byPath("aliases.c"), /both a key of models and an alias/);
  assert.match(byPath("aliases.ghost"), /not a key of models and matches none of its patterns/);
  assert.match(byPath("aliases.pattern"), /an alias names one model/);
  assert.match(byPath('aliases["fast*"]'), /without `\*`/);
  assert.match(byPath('models[""]'), /non-empty model name/);
  assert.match(byPath("models.a.targets"), /at least one target/);
  assert.match(byPath("models.b.targets[0].weight"), /only to strategy "weighted"/);
  assert.match(byPath("models.c.targets[0].weight"), /expected number to be >0/);
});

Deno.test("configSchema refuses no models, and weights that are not finite numbers", () => {
  const empty = check(configSchema, { models: {} });
  assert.deepEqual(empty.ok ? [] : empty.issues, [
    { path: "models", message: "expected at least one model" },
  ]);
  for (const weight of [Infinity, -1, "2", null]) {
    const result = check(configSchema, {
      models: { m: { strategy: "weighted", targets: [{ upstream: "u", weight }] } },
    });
    assert.deepEqual(
      result.ok ? [] : result.issues.map((i) => i.path),
      ["models.m.targets[0].weight"],
      String(weight),
    );
  }
});

Deno.test("the plugin routes over the protocol in memory, with the runtime's random source", async () => {
  const [core, side] = createLinkedPair();
  const served = servePlugin(plugin, side, {
    writeLog: () => {},
    context: { random: sequence(0.9) },
  });
  const host = new Peer(core);
  await host.start();
  await host.request("initialize", {
    protocol_version: "1",
    instance: "router",
    capabilities: ["router"],
    config: CONFIG,
    settings: { capture_payloads: false },
  });
  const result = await host.request("router.route", params("gpt-4o")) as {
    routes: { upstream: string }[];
  };
  assert.deepEqual(result.routes.map((r) => r.upstream), ["azure", "openai"]);
  const error = await host.request("router.route", { model: "" }).then(() => null, (e) => e);
  assert.ok(error instanceof RpcError && error.code === -32602, String(error));
  await host.request("shutdown");
  await served.done;
});
