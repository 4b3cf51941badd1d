import assert from "node:assert/strict";
import { checkHealth, PluginProcess, routerClient } from "@vulpes/contract/host";
import { PluginError } from "@vulpes/contract/protocol";
import { type FakeConsul, startFakeConsul } from "@vulpes/contract/testing";
import {
  assertConfigRefused,
  assertConformant,
  assertDescribedPermissions,
  declaredFlags,
  pluginBinary,
} from "../../tests/_support.ts";

const BINARY = pluginBinary("router-consul");
const TOKEN = "consul-acl-token-9f3e";

function config(consul: { url: string }, more: Record<string, unknown> = {}) {
  return {
    address: consul.url,
    token: TOKEN,
    services: ["vllm"],
    tags: ["openai"],
    upstream: "pool",
    wait_ms: 30_000, // far longer than any poll below: changes must come by blocking query
    min_interval_ms: 0,
    backoff: { initial_ms: 20, max_ms: 50 },
    ...more,
  };
}

interface Harness {
  consul: FakeConsul;
  plugin: PluginProcess;
  logs: Record<string, unknown>[];
  [Symbol.asyncDispose](): Promise<void>;
}

async function harness(more: Record<string, unknown> = {}, token = TOKEN): Promise<Harness> {
  const consul = await startFakeConsul({ token });
  register(consul, "vllm-1", 8001, "gpt-4o, llama");
  register(consul, "vllm-2", 8002, "gpt-4o");
  consul.register("vllm", { Service: { ID: "untagged", Port: 8009, Meta: { models: "gpt-4o" } } });
  const logs: Record<string, unknown>[] = [];
  const plugin = await PluginProcess.start({
    command: BINARY,
    instance: "consul-router",
    capabilities: ["router"],
    config: config(consul, more),
    onLog: (record) => logs.push(record),
    restart: false,
  }).catch(async (error) => {
    await consul.close();
    throw error;
  });
  return {
    consul,
    plugin,
    logs,
    async [Symbol.asyncDispose]() {
      await plugin.shutdown();
      await consul.close();
    },
  };
}

function register(consul: FakeConsul, id: string, port: number, models: string): void {
  consul.register("vllm", {
    Service: { ID: id, Port: port, Tags: ["openai"], Meta: { models } },
  });
}

function params(model: string) {
  return { model, identity: { groups: [] }, request: { stream: false, estimated_tokens: 1 } };
}

async function deployments(plugin: PluginProcess, model: string): Promise<string[]> {
  const { routes } = await routerClient(plugin).route(params(model));
  return routes.map((route) => route.deployment!).sort();
}

/** Polls until the predicate holds; at most `ms`, far below the blocking wait. */
async function until(predicate: () => Promise<boolean> | boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`the condition was not met within ${ms} ms`);
}

function held(consul: FakeConsul): number {
  return consul.requests.filter((request) => request.status === undefined).length;
}

Deno.test("bin/router-consul passes the conformance check against the fake Consul", async () => {
  const consul = await startFakeConsul({ token: TOKEN });
  try {
    await assertConformant(BINARY, { config: config(consul) });
  } finally {
    await consul.close();
  }
});

Deno.test("bin/router-consul has network permission only, as declared and as described", async () => {
  const flags = declaredFlags("router-consul");
  assert.deepEqual(flags.filter((flag) => flag.startsWith("--allow-")), ["--allow-net"]);
  await assertDescribedPermissions(BINARY, { capabilities: ["router"], granted: { net: "all" } });
});

Deno.test("bin/router-consul routes to tagged healthy instances with their base_url", async () => {
  await using h = await harness();
  const client = routerClient(h.plugin);
  const { routes } = await client.route(params("llama"));
  assert.deepEqual(routes, [{
    upstream: "pool",
    model: "llama",
    deployment: "vllm-1",
    options: { base_url: "http://127.0.0.1:8001/v1" },
  }]);
  assert.deepEqual(await deployments(h.plugin, "gpt-4o"), ["vllm-1", "vllm-2"], "not untagged");
  assert.deepEqual(await client.models(), {
    models: [{ id: "gpt-4o", owned_by: "vulpes" }, { id: "llama", owned_by: "vulpes" }],
  });
  const error = await client.route(params("o3")).then(() => null, (e) => e);
  assert.ok(error instanceof PluginError && error.type === "not_found", String(error));
  assert.equal(error.message, 'Model "o3" is not served; served models: gpt-4o, llama');
  const first = h.consul.requests[0]!;
  assert.deepEqual(first.query, { tag: ["openai"], passing: ["true"] });
  assert.equal(first.headers["x-consul-token"], TOKEN);
  const health = await checkHealth(h.plugin);
  assert.equal(health.status, "ok");
  assert.equal(health.detail?.instances, 2);
});

Deno.test("bin/router-consul drops an instance turning critical within one blocking round", async () => {
  await using h = await harness();
  await until(() => held(h.consul) === 1);
  const before = h.consul.requests.length;
  h.consul.setStatus("vllm-1", "critical");
  await until(async () => (await deployments(h.plugin, "gpt-4o")).length === 1, 2000);
  assert.deepEqual(await deployments(h.plugin, "gpt-4o"), ["vllm-2"]);
  // The held query answered the change, and the next one is held again: one round.
  await until(() => held(h.consul) === 1);
  assert.equal(h.consul.requests.length, before + 1);
  const error = await routerClient(h.plugin).route(params("llama")).then(() => null, (e) => e);
  assert.ok(error instanceof PluginError && error.type === "not_found", String(error));

  register(h.consul, "vllm-3", 8003, "gpt-4o, llama");
  await until(async () => (await deployments(h.plugin, "gpt-4o")).length === 2, 2000);
  assert.deepEqual(await deployments(h.plugin, "llama"), ["vllm-3"]);
  h.consul.setStatus("vllm-1", "passing");
  h.consul.deregister("vllm-2");
  await until(async () => (await deployments(h.plugin, "gpt-4o")).join() === "vllm-1,vllm-3");
  assert.ok(h.logs.some((r) => r.msg === "instances changed" && r.instance === "consul-router"));
});

Deno.test("bin/router-consul starts over from index 0 when Consul's index goes backwards", async () => {
  await using h = await harness();
  await until(() => held(h.consul) === 1);
  const high = Number(h.consul.requests.at(-1)!.query.index![0]);
  h.consul.resetIndex();
  await until(() => held(h.consul) === 1 && h.consul.requests.length >= 4);
  const [released, restart, next] = h.consul.requests.slice(1, 4);
  assert.ok(released!.index! < high, "the held query was answered with a lower index");
  assert.equal(restart!.query.index, undefined, "the next query does not block");
  assert.equal(restart!.query.wait, undefined);
  assert.equal(next!.query.index?.[0], String(restart!.index));
  h.consul.setStatus("vllm-2", "critical");
  await until(async () => (await deployments(h.plugin, "gpt-4o")).join() === "vllm-1", 2000);
});

Deno.test("bin/router-consul is degraded during an outage, then unavailable after max_stale_ms", async () => {
  await using h = await harness({ max_stale_ms: 1500 });
  await until(() => held(h.consul) === 1);
  h.consul.outage(true);
  await until(async () => (await checkHealth(h.plugin)).status === "degraded", 1000);
  const degraded = await checkHealth(h.plugin);
  assert.match(String(degraded.detail?.last_error), /HTTP 500 rpc error making call: No cluster/);
  assert.ok(Number(degraded.detail?.stale_for_ms) >= 0);
  assert.deepEqual(await deployments(h.plugin, "gpt-4o"), ["vllm-1", "vllm-2"], "last known set");
  await until(async () => (await checkHealth(h.plugin)).status === "unavailable", 4000);
  const unavailable = await checkHealth(h.plugin);
  assert.ok(Number(unavailable.detail?.stale_for_ms) > 1500);
  const error = await routerClient(h.plugin).route(params("gpt-4o")).then(() => null, (e) => e);
  assert.ok(error instanceof PluginError && error.type === "unavailable", String(error));
  assert.match(error.message, /older than max_stale_ms/);
  h.consul.outage(false);
  await until(async () => (await checkHealth(h.plugin)).status === "ok");
  assert.deepEqual(await deployments(h.plugin, "gpt-4o"), ["vllm-1", "vllm-2"]);
  assert.ok(h.logs.some((r) => r.level === "warn" && r.msg === "Cannot query Consul"));
  assert.ok(h.logs.some((r) => r.msg === "Consul answers again"));
});

Deno.test("bin/router-consul needs the ACL token, and never logs it", async () => {
  await using h = await harness({}, "another-token-entirely");
  const health = await checkHealth(h.plugin);
  assert.equal(health.status, "unavailable");
  assert.equal(health.detail?.last_error, "Consul refused the ACL token: HTTP 403 ACL not found");
  const error = await routerClient(h.plugin).route(params("gpt-4o")).then(() => null, (e) => e);
  assert.ok(error instanceof PluginError && error.type === "unavailable", String(error));
  await until(() => h.consul.requests.length >= 3); // it keeps retrying, with backoff
  assert.ok(h.consul.requests.every((request) => request.status === 403));
  assert.ok(!JSON.stringify(h.logs).includes(TOKEN), "the token is not in the log");
  assert.ok(!JSON.stringify(health).includes(TOKEN));
});

Deno.test("bin/router-consul starts while Consul is unreachable and picks it up later", async () => {
  const consul = await startFakeConsul();
  const { port } = new URL(consul.url);
  await consul.close();
  const plugin = await PluginProcess.start({
    command: BINARY,
    instance: "consul-router",
    capabilities: ["router"],
    config: config({ url: `http://127.0.0.1:${port}` }, { token: undefined }),
    onLog: () => {},
    restart: false,
  });
  try {
    const health = await checkHealth(plugin);
    assert.equal(health.status, "unavailable");
    assert.equal(health.detail?.stale_for_ms, null);
    assert.match(String(health.detail?.last_error), /^fetch failed: .*Connection refused/);
    const revived = await startFakeConsul({ port: Number(port) });
    try {
      register(revived, "vllm-1", 8001, "gpt-4o");
      await until(async () => (await checkHealth(plugin)).status === "ok");
      assert.deepEqual(await deployments(plugin, "gpt-4o"), ["vllm-1"]);
    } finally {
      await revived.close();
    }
  } finally {
    await plugin.shutdown();
  }
});

Deno.test("bin/router-consul refuses a bad config naming every field", async () => {
  await assertConfigRefused(
    PluginProcess.start({
      command: BINARY,
      instance: "consul-router",
      capabilities: ["router"],
      config: { address: "consul", services: [], upstream: "", max_stale: 5 },
      onLog: () => {},
      restart: false,
    }),
    ["address", "max_stale", "services", "upstream"],
  );
});
