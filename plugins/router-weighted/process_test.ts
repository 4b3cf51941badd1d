import assert from "node:assert/strict";
import fc from "fast-check";
import { checkHealth, PluginProcess, routerClient } from "@vulpes/contract/host";
import { PluginError } from "@vulpes/contract/protocol";
import {
  assertConfigRefused,
  assertConformant,
  assertNoPermissions,
  pluginBinary,
} from "../../tests/_support.ts";

const BINARY = pluginBinary("router-weighted");

const CONFIG = {
  models: {
    "gpt-4o": {
      strategy: "weighted",
      owned_by: "openai",
      targets: [
        { upstream: "openai", weight: 1 },
        { upstream: "azure", model: "gpt-4o-prod", weight: 3, deployment: "azure-eu" },
      ],
    },
    "claude-3-5-sonnet": {
      strategy: "shuffled",
      targets: [{ upstream: "anthropic" }, { upstream: "bedrock", model: "claude-bedrock" }],
    },
    "gpt-*": { targets: [{ upstream: "openai", options: { base_url: "https://x.test/v1" } }] },
  },
  aliases: { fast: "gpt-4o" },
};

async function start(logs: Record<string, unknown>[] = []): Promise<PluginProcess> {
  return await PluginProcess.start({
    command: BINARY,
    instance: "router",
    capabilities: ["router"],
    config: CONFIG,
    onLog: (record) => logs.push(record),
    restart: false,
  });
}

function params(model: string) {
  return { model, identity: { groups: [] }, request: { stream: false, estimated_tokens: 1 } };
}

Deno.test("bin/router-weighted passes the conformance check", async () => {
  await assertConformant(BINARY, { config: CONFIG });
});

Deno.test("bin/router-weighted has no permissions, as declared and as described", async () => {
  await assertNoPermissions("router-weighted", ["router"]);
});

Deno.test("bin/router-weighted routes, lists models and takes feedback through the host client", async () => {
  const logs: Record<string, unknown>[] = [];
  const plugin = await start(logs);
  try {
    const client = routerClient(plugin);
    assert.deepEqual(await client.route(params("gpt-4.1")), {
      routes: [{
        upstream: "openai",
        model: "gpt-4.1",
        deployment: "openai/gpt-4.1",
        options: { base_url: "https://x.test/v1" },
      }],
    });
    const fast = await client.route(params("fast"));
    assert.deepEqual(fast.routes.map((r) => r.deployment).sort(), ["azure-eu", "openai/gpt-4o"]);
    assert.deepEqual(await client.models(), {
      models: [
        { id: "claude-3-5-sonnet", owned_by: "vulpes" },
        { id: "fast", owned_by: "openai" },
        { id: "gpt-4o", owned_by: "openai" },
      ],
    });
    await client.feedback({
      deployment: "azure-eu",
      upstream: "azure",
      model: "gpt-4o-prod",
      outcome: "error",
      status: 500,
      latency_ms: 40,
    });
    assert.deepEqual(await checkHealth(plugin), {
      status: "ok",
      detail: { models: 2, aliases: 1, patterns: 1 },
    });
  } finally {
    await plugin.shutdown();
  }
  assert.ok(logs.some((record) => record.msg === "initialized" && record.instance === "router"));
  assert.deepEqual(logs.filter((record) => record.level !== "info"), [], "feedback is no warning");
});

Deno.test("bin/router-weighted orders by weight and shuffles, over many calls", async () => {
  const plugin = await start();
  try {
    const client = routerClient(plugin);
    const draws = 400;
    let azureFirst = 0;
    const shuffledFirst = new Set<string>();
    for (let i = 0; i < draws; i++) {
      const weighted = (await client.route(params("gpt-4o"))).routes.map((r) => r.upstream);
      assert.deepEqual([...weighted].sort(), ["azure", "openai"]);
      if (weighted[0] === "azure") azureFirst++;
      shuffledFirst.add((await client.route(params("claude-3-5-sonnet"))).routes[0]!.upstream);
    }
    // Binomial(400, 0.75): mean 300, sd ≈ 8.7; 6 sd either side fails a correct plugin
    // about once in 10^9 runs (the binary uses Math.random, so this run is not seeded).
    assert.ok(Math.abs(azureFirst - 300) < 52, `azure first ${azureFirst} of ${draws}`);
    assert.deepEqual([...shuffledFirst].sort(), ["anthropic", "bedrock"]);
  } finally {
    await plugin.shutdown();
  }
});

Deno.test("bin/router-weighted answers not_found for a model it does not serve", async () => {
  const plugin = await start();
  try {
    const error = await routerClient(plugin).route(params("llama-3")).then(() => null, (e) => e);
    assert.ok(error instanceof PluginError, String(error));
    assert.equal(error.type, "not_found");
    assert.equal(
      error.message,
      'Model "llama-3" is not served; served models: claude-3-5-sonnet, fast, gpt-*, gpt-4o',
    );
    assert.equal(error.data.param, "model");
  } finally {
    await plugin.shutdown();
  }
});

Deno.test("bin/router-weighted refuses a bad config naming every field", async () => {
  const error = await assertConfigRefused(
    PluginProcess.start({
      command: BINARY,
      instance: "router",
      capabilities: ["router"],
      config: {
        models: {
          "gpt-4o": { strategy: "weighted", targets: [{ upstream: "openai", weight: -2 }] },
          "o1": { targets: [{ upstream: "openai", weight: 2 }] },
          "empty": { targets: [] },
        },
        aliases: { fast: "gpt-5", faster: "fast" },
        fallback: true,
      },
      onLog: () => {},
      restart: false,
    }),
    [
      "aliases.fast",
      "aliases.faster",
      "fallback",
      "models.empty.targets",
      "models.o1.targets[0].weight",
      'models["gpt-4o"].targets[0].weight',
    ],
  );
  assert.match(error.message, /plugin "router-weighted" \(instance "router"\)/);
  assert.match(error.message, /aliases do not chain/);
});

Deno.test("bin/router-weighted answers random model names and random params, and keeps serving", async () => {
  const plugin = await start();
  try {
    const client = routerClient(plugin);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ minLength: 1, maxLength: 300 }),
          fc.constantFrom("fast", "gpt-4o", "claude-3-5-sonnet", "claude-3-5-sonnet "),
          fc.string({ maxLength: 40 }).map((rest) => `gpt-${rest}`),
        ),
        async (model) => {
          const answer = await client.route(params(model)).then((result) => result, (e) => e);
          const served = ["fast", "claude-3-5-sonnet"].includes(model) || model.startsWith("gpt-");
          if (answer instanceof Error) {
            assert.ok(answer instanceof PluginError && answer.type === "not_found", String(answer));
            assert.match(answer.message, /^Model ".*" is not served; served models: /s);
            assert.ok(!served, model);
          } else {
            assert.ok(served, model);
            assert.ok(answer.routes.length >= 1);
          }
        },
      ),
      { numRuns: 200 },
    );
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 6 }), async (params) => {
        const answer = await plugin.request("router.route", params).then(
          () => "ok",
          (e) => e,
        );
        if (answer !== "ok") assert.ok(answer instanceof Error && "code" in answer, String(answer));
      }),
      { numRuns: 200 },
    );
    assert.equal((await checkHealth(plugin)).status, "ok");
  } finally {
    await plugin.shutdown();
  }
});
