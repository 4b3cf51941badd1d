import assert from "node:assert/strict";
import { check, type RouteParams } from "@vulpes/contract/capabilities";
import type { PluginContext, PluginInstance } from "@vulpes/contract/plugin";
import { servePlugin } from "@vulpes/contract/plugin";
import { createLinkedPair, Peer, PluginError } from "@vulpes/contract/protocol";
import {
  createTestCall,
  createTestContext,
  type FakeConsul,
  startFakeConsul,
} from "@vulpes/contract/testing";
import { configSchema } from "./config.ts";
import { plugin } from "./mod.ts";

const call = createTestCall();

function params(model: string): RouteParams {
  return { model, identity: { groups: [] }, request: { stream: false, estimated_tokens: 10 } };
}

function baseConfig(consul: { url: string }, more: Record<string, unknown> = {}) {
  return {
    address: consul.url,
    services: ["vllm"],
    upstream: "pool",
    wait_ms: 5_000,
    min_interval_ms: 0,
    backoff: { initial_ms: 10, max_ms: 20 },
    ...more,
  };
}

async function create(
  config: Record<string, unknown>,
  context: Partial<PluginContext> = {},
): Promise<PluginInstance> {
  return await plugin.create(
    configSchema.parse(config),
    createTestContext({ fetch: globalThis.fetch, now: Date.now, ...context }),
  );
}

function register(consul: FakeConsul, id: string, port: number, models = "gpt-4o, llama") {
  consul.register("vllm", { Service: { ID: id, Port: port, Meta: { models } } });
}

async function deployments(instance: PluginInstance, model: string): Promise<string[]> {
  const { routes } = await instance.router!.route(params(model), call);
  return routes.map((route) => route.deployment!).sort();
}

async function until(predicate: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail("the condition was not met within 2 s");
}

function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

Deno.test("route() answers the healthy instances Consul lists, with their base_url", async () => {
  await using consul = await startFakeConsul();
  register(consul, "vllm-1", 8001);
  consul.register("vllm", {
    Service: { ID: "vllm-2", Port: 8002, Address: "10.0.0.2", Meta: { models: "llama=meta/L3" } },
  });
  const instance = await create(baseConfig(consul));
  try {
    const { routes } = await instance.router!.route(params("llama"), call);
    assert.deepEqual(routes.sort((a, b) => a.deployment!.localeCompare(b.deployment!)), [
      {
        upstream: "pool",
        model: "llama",
        deployment: "vllm-1",
        options: { base_url: "http://127.0.0.1:8001/v1" },
      },
      {
        upstream: "pool",
        model: "meta/L3",
        deployment: "vllm-2",
        options: { base_url: "http://10.0.0.2:8002/v1" },
      },
    ]);
    assert.deepEqual(await instance.router!.models({}, call), {
      models: [{ id: "gpt-4o", owned_by: "vulpes" }, { id: "llama", owned_by: "vulpes" }],
    });
    await assert.rejects(
      async () => await instance.router!.route(params("o3"), call),
      (error) =>
        error instanceof PluginError && error.type === "not_found" &&
        error.message === 'Model "o3" is not served; served models: gpt-4o, llama' &&
        error.data.param === "model",
    );
    assert.equal((await instance.health!()).status, "ok");
  } finally {
    await instance.close!();
  }
});

Deno.test("route() drops a critical instance and adds a new one within one blocking round", async () => {
  await using consul = await startFakeConsul();
  register(consul, "vllm-1", 8001);
  register(consul, "vllm-2", 8002);
  const instance = await create(baseConfig(consul));
  try {
    assert.deepEqual(await deployments(instance, "gpt-4o"), ["vllm-1", "vllm-2"]);
    await until(() => consul.requests.length === 2); // the blocking query is held
    consul.setStatus("vllm-1", "critical");
    await until(async () => (await deployments(instance, "gpt-4o")).length === 1);
    assert.deepEqual(await deployments(instance, "gpt-4o"), ["vllm-2"]);
    // The held query answered the change; the next one is held again: one round.
    await until(() => consul.requests.length === 3 && consul.requests[2]!.status === undefined);
    assert.equal(consul.requests[1]!.status, 200);
    assert.ok(consul.requests[1]!.index! > consul.requests[0]!.index!);
    register(consul, "vllm-3", 8003, "gpt-4o");
    await until(async () => (await deployments(instance, "gpt-4o")).length === 2);
    assert.deepEqual(await deployments(instance, "gpt-4o"), ["vllm-2", "vllm-3"]);
  } finally {
    await instance.close!();
  }
});

Deno.test("route() keeps a warning instance only when passing_only is false, never a critical one", async () => {
  await using consul = await startFakeConsul();
  register(consul, "ok", 8001);
  consul.register("vllm", {
    Service: { ID: "warn", Port: 8002, Meta: { models: "gpt-4o" } },
    status: "warning",
  });
  consul.register("vllm", {
    Service: { ID: "crit", Port: 8003, Meta: { models: "gpt-4o" } },
    status: "critical",
  });
  const strict = await create(baseConfig(consul));
  const lenient = await create(baseConfig(consul, { passing_only: false }));
  try {
    assert.deepEqual(await deployments(strict, "gpt-4o"), ["ok"]);
    assert.deepEqual(await deployments(lenient, "gpt-4o"), ["ok", "warn"]);
    const passing = consul.requests.map((request) => request.query.passing?.[0] ?? "absent");
    assert.ok(passing.includes("true") && passing.includes("absent"), passing.join());
  } finally {
    await strict.close!();
    await lenient.close!();
  }
});

Deno.test("the plugin serves the last set while Consul is down, until max_stale_ms", async () => {
  await using consul = await startFakeConsul();
  register(consul, "vllm-1", 8001);
  let clock = 1_000_000;
  const instance = await create(baseConfig(consul, { max_stale_ms: 60_000 }), {
    now: () => clock,
  });
  try {
    consul.outage(true);
    await until(async () => (await instance.health!()).status !== "ok");
    clock += 30_000;
    const degraded = await instance.health!();
    assert.equal(degraded.status, "degraded");
    assert.equal(degraded.detail?.stale_for_ms, 30_000);
    assert.match(String(degraded.detail?.last_error), /HTTP 500 rpc error making call/);
    assert.deepEqual(await deployments(instance, "gpt-4o"), ["vllm-1"], "stale but trusted");
    clock += 30_001;
    assert.equal((await instance.health!()).status, "unavailable");
    await assert.rejects(
      async () => await instance.router!.route(params("gpt-4o"), call),
      (error) =>
        error instanceof PluginError && error.type === "unavailable" &&
        /service "vllm" are older than max_stale_ms/.test(error.message),
    );
    assert.deepEqual(await instance.router!.models({}, call), { models: [] });
    consul.outage(false);
    await until(async () => (await instance.health!()).status === "ok");
    assert.deepEqual(await deployments(instance, "gpt-4o"), ["vllm-1"]);
  } finally {
    await instance.close!();
  }
});

Deno.test("create() starts even when Consul is unreachable, and answers unavailable", async () => {
  const port = closedPort();
  const context = createTestContext({ fetch: globalThis.fetch, now: Date.now });
  const instance = await plugin.create(
    configSchema.parse(baseConfig({ url: `http://127.0.0.1:${port}` }, { token: "t0k3n-x" })),
    context,
  );
  try {
    const health = await instance.health!();
    assert.equal(health.status, "unavailable");
    assert.equal(health.detail?.stale_for_ms, null);
    assert.ok(typeof health.detail?.last_error === "string");
    await assert.rejects(
      async () => await instance.router!.route(params("gpt-4o"), call),
      (error) =>
        error instanceof PluginError && error.type === "unavailable" &&
        error.message ===
          'Cannot route model "gpt-4o": service "vllm" has not been read from Consul yet',
    );
    assert.ok(!JSON.stringify(context.logs).includes("t0k3n-x"));
  } finally {
    await instance.close!();
  }
});

Deno.test("configSchema fills in defaults and lists every bad field in one pass", () => {
  assert.deepEqual(configSchema.parse({ services: ["vllm"], upstream: "pool" }), {
    address: "http://127.0.0.1:8500",
    services: ["vllm"],
    tags: [],
    passing_only: true,
    models_meta_key: "models",
    scheme: "http",
    path_prefix: "/v1",
    upstream: "pool",
    owned_by: "vulpes",
    wait_ms: 60_000,
    timeout_ms: 10_000,
    min_interval_ms: 100,
    max_stale_ms: 60_000,
    backoff: { initial_ms: 250, max_ms: 30_000 },
  });
  const result = check(configSchema, {
    address: "consul:8500",
    token: "",
    services: ["vllm", "a/b", "vllm"],
    upstream: "",
    scheme: "ftp",
    path_prefix: "v1",
    models_meta_key: "models list",
    wait_ms: 700_000,
    backoff: { initial_ms: 500, max_ms: 100 },
    colour: "red",
  });
  assert.equal(result.ok, false);
  const paths = result.ok ? [] : result.issues.map((issue) => issue.path).sort();
  assert.deepEqual(paths, [
    "address",
    "backoff.max_ms",
    "colour",
    "models_meta_key",
    "path_prefix",
    "scheme",
    "services[1]",
    "services[2]",
    "token",
    "upstream",
    "wait_ms",
  ]);
  const empty = check(configSchema, { services: [], upstream: "u" });
  assert.deepEqual(empty.ok ? [] : empty.issues, [
    { path: "services", message: "expected at least one service" },
  ]);
});

Deno.test("the plugin routes over the protocol in memory and stops its loops on shutdown", async () => {
  await using consul = await startFakeConsul({ token: "acl-token-123" });
  register(consul, "vllm-1", 8001);
  const [core, side] = createLinkedPair();
  const served = servePlugin(plugin, side, { writeLog: () => {}, context: { random: () => 0 } });
  const host = new Peer(core);
  await host.start();
  await host.request("initialize", {
    protocol_version: "1",
    instance: "router",
    capabilities: ["router"],
    config: baseConfig(consul, { token: "acl-token-123" }),
    settings: { capture_payloads: false },
  });
  const result = await host.request("router.route", params("llama")) as {
    routes: { deployment: string }[];
  };
  assert.deepEqual(result.routes.map((r) => r.deployment), ["vllm-1"]);
  assert.equal(consul.requests[0]!.headers["x-consul-token"], "acl-token-123");
  await host.request("shutdown");
  await served.done;
});
