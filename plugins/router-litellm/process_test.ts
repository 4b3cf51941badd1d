import assert from "node:assert/strict";
import OpenAI from "openai";
import { parse } from "yaml";
import { checkHealth, PluginProcess, routerClient } from "@vulpes/contract/host";
import { PluginError } from "@vulpes/contract/protocol";
import { startFakeOpenAI } from "@vulpes/contract/testing";
import {
  assertConfigRefused,
  assertConformant,
  assertNoPermissions,
  pluginBinary,
} from "../../tests/_support.ts";
import {
  startGatewayProcess,
  tempDir,
  waitFor,
  writeConfig,
} from "../../examples/dev-gateway/testdata/harness.ts";

const BINARY = pluginBinary("router-litellm");

const CONFIG = {
  model_list: [
    { model_name: "gpt-4o", upstream: "azure", model: "gpt-4o-eu", id: "azure-eu", order: 1 },
    { model_name: "gpt-4o", upstream: "openai", model: "gpt-4o", order: 2 },
    { model_name: "gpt-4o-mini", upstream: "openai", model: "gpt-4o-mini" },
  ],
  fallbacks: [{ "gpt-4o": ["gpt-4o-mini"] }],
  num_retries: 0,
  allowed_fails: 0,
  cooldown_time: 30,
};

async function start(config: unknown = CONFIG, logs: Record<string, unknown>[] = []) {
  return await PluginProcess.start({
    command: BINARY,
    instance: "router",
    capabilities: ["router"],
    config,
    onLog: (record) => logs.push(record),
    restart: false,
  });
}

function params(model: string, tokens = 10) {
  return { model, identity: { groups: [] }, request: { stream: false, estimated_tokens: tokens } };
}

Deno.test("bin/router-litellm passes the conformance check", async () => {
  await assertConformant(BINARY, { config: CONFIG });
});

Deno.test("bin/router-litellm has no permissions, as declared and as described", async () => {
  await assertNoPermissions("router-litellm", ["router"]);
});

Deno.test("bin/router-litellm routes, cools down on feedback and reports it in health", async () => {
  const logs: Record<string, unknown>[] = [];
  const plugin = await start(CONFIG, logs);
  try {
    const client = routerClient(plugin);
    assert.deepEqual((await client.route(params("gpt-4o"))).routes, [
      { upstream: "azure", model: "gpt-4o-eu", deployment: "azure-eu" },
      { upstream: "openai", model: "gpt-4o-mini", deployment: "openai/gpt-4o-mini" },
    ]);
    await client.feedback({
      deployment: "azure-eu",
      upstream: "azure",
      model: "gpt-4o-eu",
      outcome: "rate_limited",
      status: 429,
      latency_ms: 40,
      retry_after_ms: 20_000,
    });
    // Feedback is a notification: wait until it has been applied.
    await waitFor(
      "the feedback",
      async () => JSON.stringify(await checkHealth(plugin)).includes("rate_limited"),
    );
    const health = await checkHealth(plugin);
    assert.equal(health.status, "ok");
    const azure = (health.detail as { deployments: Record<string, Record<string, unknown>> })
      .deployments["azure-eu"]!;
    assert.equal(azure.in_flight, 0);
    assert.equal(azure.rpm, 1);
    assert.equal(azure.cooldown_reason, "rate_limited");
    assert.ok(typeof azure.cooldown_until === "string");
    // Tier 2 takes over while tier 1 cools down.
    assert.equal((await client.route(params("gpt-4o"))).routes[0]!.deployment, "openai/gpt-4o");
    assert.deepEqual(await client.models(), {
      models: [{ id: "gpt-4o", owned_by: "vulpes" }, { id: "gpt-4o-mini", owned_by: "vulpes" }],
    });
  } finally {
    await plugin.shutdown();
  }
  assert.ok(logs.some((l) => l.msg === "deployment cooling down" && l.deployment === "azure-eu"));
});

Deno.test("bin/router-litellm answers rate_limited with retry_after_ms when all cool down", async () => {
  const plugin = await start({
    model_list: [{ model_name: "m", upstream: "u", model: "m" }],
    cooldown_time: 45,
    allowed_fails: 0,
  });
  try {
    const client = routerClient(plugin);
    await client.feedback({ upstream: "u", model: "m", outcome: "error", latency_ms: 5 });
    await waitFor("the cooldown", async () => (await checkHealth(plugin)).status === "degraded");
    const error = await client.route(params("m")).then(() => null, (e) => e);
    assert.ok(error instanceof PluginError, String(error));
    assert.equal(error.type, "rate_limited");
    assert.ok(
      typeof error.data.retry_after_ms === "number" && error.data.retry_after_ms > 40_000 &&
        error.data.retry_after_ms <= 45_000,
      String(error.data.retry_after_ms),
    );
    const missing = await client.route(params("nope")).then(() => null, (e) => e);
    assert.ok(missing instanceof PluginError && missing.type === "not_found", String(missing));
  } finally {
    await plugin.shutdown();
  }
});

Deno.test("bin/router-litellm refuses a bad config naming every field", async () => {
  await assertConfigRefused(
    start({
      model_list: [{ model_name: "m", litellm_params: { model: "azure/gpt" } }],
      routing_strategy: "round-robin",
      fallbacks: [{ m: ["ghost"] }],
    }),
    [
      "fallbacks[0].m[0]",
      "model_list[0].litellm_params",
      "model_list[0].model",
      "model_list[0].upstream",
      "routing_strategy",
    ],
  );
});

/** The README's gateway.yaml, with bin/ paths and the fake upstreams' URLs put in. */
async function readmeGateway(urls: Record<string, string>): Promise<Record<string, unknown>> {
  const text = await Deno.readTextFile(new URL("./README.md", import.meta.url));
  const yaml = /```yaml\n([\s\S]*?)```/.exec(text);
  assert.ok(yaml, "the README has a gateway.yaml example");
  const gateway = parse(yaml[1]!) as { plugins: Record<string, unknown>[] };
  for (const entry of gateway.plugins) {
    const source = entry.source as { path: string };
    source.path = pluginBinary(source.path.replace(/^.*\/bin\//, ""));
    const url = urls[entry.name as string];
    if (url) (entry.config as Record<string, unknown>).base_url = `${url}/v1`;
  }
  return gateway;
}

Deno.test("the dev gateway with router-litellm falls back from a failing upstream and cools it down", async () => {
  await using failing = await startFakeOpenAI();
  await using healthy = await startFakeOpenAI();
  await using dir = await tempDir();
  const gateway = await startGatewayProcess(
    writeConfig(dir.path, await readmeGateway({ primary: failing.url, backup: healthy.url })),
  );
  const openai = new OpenAI({ apiKey: "unused", baseURL: `${gateway.url}/v1`, maxRetries: 0 });
  const messages = [{ role: "user" as const, content: "Hello router" }];
  const fail = { status: 503, body: { error: { message: "down", type: "server_error" } } };
  try {
    failing.enqueue("/v1/chat/completions", fail, fail, fail, fail);
    for (let i = 0; i < 2; i++) {
      const { data, response } = await openai.chat.completions
        .create({ model: "gpt-4o-mini", messages }).withResponse();
      assert.equal(data.choices[0]!.message.content, "Echo: Hello router");
      assert.equal(response.headers.get("x-vulpes-upstream"), "backup");
    }
    assert.equal(failing.requests.length, 2, "order 1 was tried first, twice");
    // allowed_fails: 1, so the second failure cooled the primary down (feedback is async).
    const health = async () =>
      (await (await fetch(`${gateway.url}/healthz`)).json()).plugins.router.detail.deployments;
    await waitFor(
      "the cooldown",
      async () => (await health())["primary/gpt-4o-mini"].cooldown_until,
    );
    const { response } = await openai.chat.completions
      .create({ model: "gpt-4o-mini", messages }).withResponse();
    assert.equal(response.headers.get("x-vulpes-upstream"), "backup");
    assert.equal(failing.requests.length, 2, "no request to the cooling upstream");
    const deployments = await health();
    assert.equal(deployments["backup/gpt-4o-mini"].in_flight, 0);
    assert.equal(deployments["backup/gpt-4o-mini"].rpm, 3);
    assert.ok(deployments["backup/gpt-4o-mini"].tpm > 0);
    assert.equal(deployments["primary/gpt-4o-mini"].cooldown_reason, "allowed_fails exceeded");
    // gpt-4o's one deployment (tried 1 + num_retries times) fails too: its fallback group serves.
    failing.enqueue("/v1/chat/completions", fail, fail);
    const fallback = await openai.chat.completions
      .create({ model: "gpt-4o", messages }).withResponse();
    assert.equal(fallback.response.headers.get("x-vulpes-upstream"), "backup");
  } finally {
    const status = await gateway.stop();
    assert.equal(status.code, 0, gateway.stderr());
  }
});
