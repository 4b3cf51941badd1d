import assert from "node:assert/strict";
import * as z from "zod";
import { createLinkedPair, Peer, PluginError, RpcError } from "../protocol/mod.ts";
import { definePlugin, type PluginInstance, secret } from "./definition.ts";
import { servePlugin } from "./serve.ts";

const configSchema = z.strictObject({
  token: secret("An upstream token"),
  limit: z.number().int().positive().default(3).describe("A limit"),
  names: z.array(z.string()).default([]).describe("Names"),
});

type Config = z.infer<typeof configSchema>;

function makePlugin(create: (config: Config) => PluginInstance) {
  return definePlugin<Config>({
    name: "test-plugin",
    version: "1.2.3",
    description: "A plugin for tests",
    capabilities: ["observer", "router"],
    config: configSchema,
    create,
  });
}

const baseHandlers = (): PluginInstance => ({
  observer: { emit: () => {} },
  router: {
    route: ({ model }) => ({ routes: [{ upstream: "u", model }] }),
    models: () => ({ models: [] }),
  },
});

async function serve(instance: () => PluginInstance = baseHandlers) {
  const logs: Record<string, unknown>[] = [];
  const [core, side] = createLinkedPair();
  const served = servePlugin(makePlugin(instance), side, {
    writeLog: (line) => logs.push(JSON.parse(line)),
  });
  const host = new Peer(core);
  await host.start();
  return { host, served, logs };
}

function init(config: unknown, capabilities = ["observer", "router"], version = "1") {
  return {
    protocol_version: version,
    instance: "primary",
    capabilities,
    config,
    settings: { capture_payloads: false },
  };
}

const SECRET = "tok-3c1f9a77e0";

Deno.test("servePlugin() refuses a bad config listing every field path, without the secret", async () => {
  const { host, served, logs } = await serve();
  const error = await host.request(
    "initialize",
    init({ token: SECRET, limit: -1, names: [1], color: "red" }),
  )
    .catch((e) => e);
  assert.ok(error instanceof PluginError);
  assert.equal(error.type, "invalid_config");
  assert.deepEqual(error.data.errors?.map((e) => e.path).sort(), ["color", "limit", "names[0]"]);
  assert.match(error.message, /^Invalid config for plugin "test-plugin" \(instance "primary"\): /);
  assert.ok(!JSON.stringify([error.message, error.data, logs]).includes(SECRET));
  // A refused config leaves the plugin waiting for a good one.
  const ok = await host.request("initialize", init({ token: SECRET }));
  assert.deepEqual(ok, {
    protocol_version: "1",
    plugin: { name: "test-plugin", version: "1.2.3" },
    capabilities: ["observer", "router"],
  });
  await host.request("shutdown");
  await served.done;
});

Deno.test("servePlugin() redacts a config secret from handler errors and logs", async () => {
  const { host, served, logs } = await serve(() => ({
    ...baseHandlers(),
    router: {
      route: (_params, context) => {
        context.logger.warn(`calling with ${SECRET}`);
        throw new Error(`upstream refused token ${SECRET}`);
      },
      models: () => ({ models: [] }),
    },
  }));
  await host.request("initialize", init({ token: SECRET }));
  const error = await host.request("router.route", {
    model: "m",
    identity: { groups: [] },
    request: { stream: false, estimated_tokens: 1 },
  }).catch((e) => e);
  assert.ok(error instanceof RpcError);
  assert.equal(error.code, -32603);
  assert.equal(
    error.message,
    'Internal error while handling "router.route": upstream refused token [redacted]',
  );
  assert.ok(logs.some((record) => record.msg === "calling with [redacted]"));
  assert.ok(!JSON.stringify(logs).includes(SECRET));
  await host.request("shutdown");
  await served.done;
});

Deno.test("servePlugin() redacts a secret from health details, also URL-encoded or as a URL's password", async () => {
  const url = "postgres://app:50%off/x@db:5432/keys";
  let detail: Record<string, unknown> = {};
  const { host, served, logs } = await serve(() => ({
    ...baseHandlers(),
    health: () => ({ status: "degraded", detail }),
  }));
  await host.request("initialize", init({ token: url }));
  // How pg and URL parsers quote a URL they could not read, and drivers a password.
  const rewritten = "postgres://app:50%25off/x@db:5432/keys";
  detail = {
    index_error: `Invalid URL: '${rewritten}'`,
    encoded: encodeURIComponent(url),
    password: "password 50%off/x rejected",
  };
  const health = await host.request("health") as { detail: Record<string, string> };
  assert.equal(health.detail.index_error, "Invalid URL: '[redacted]'");
  assert.equal(health.detail.encoded, "[redacted]");
  assert.equal(health.detail.password, "password [redacted] rejected");
  const { logger } = served;
  logger.warn("index INSERT failed", { error: `Invalid URL: '${rewritten}'` });
  assert.ok(!JSON.stringify(logs).includes("50%"), JSON.stringify(logs));
  await host.request("shutdown");
  await served.done;
});

Deno.test("servePlugin() refuses a capability it does not implement and a wrong protocol version", async () => {
  const { host, served } = await serve();
  const undeclared = await host.request("initialize", init({ token: SECRET }, ["authenticator"]))
    .catch((e) => e);
  assert.ok(undeclared instanceof PluginError && undeclared.type === "invalid_config");
  assert.match(undeclared.message, /does not implement "authenticator"/);
  const version = await host.request("initialize", init({ token: SECRET }, undefined, "2")).catch((
    e,
  ) => e);
  assert.ok(version instanceof PluginError && version.type === "invalid_config");
  assert.match(version.message, /protocol version "2" is not supported/);
  await host.close();
  await served.done;
});

Deno.test("servePlugin() serves only the capabilities asked for at initialize", async () => {
  const { host, served } = await serve();
  await host.request("initialize", init({ token: SECRET }, ["observer"]));
  const error = await host.request("router.models", {}).catch((e) => e);
  assert.ok(error instanceof RpcError && error.code === -32601);
  assert.match(error.message, /capability "router" was not requested at initialize/);
  await host.request("shutdown");
  await served.done;
});

Deno.test("servePlugin() aborts a handler's signal on $/cancel", async () => {
  let aborted: unknown = null;
  const { host, served } = await serve(() => ({
    ...baseHandlers(),
    router: {
      route: (_params, context) =>
        new Promise((_resolve, reject) => {
          context.signal.addEventListener("abort", () => {
            aborted = context.signal.reason;
            reject(context.signal.reason);
          });
        }),
      models: () => ({ models: [] }),
    },
  }));
  await host.request("initialize", init({ token: SECRET }));
  const controller = new AbortController();
  const call = host.request("router.route", {
    model: "m",
    identity: { groups: [] },
    request: { stream: false, estimated_tokens: 1 },
  }, { signal: controller.signal });
  await new Promise((resolve) => setTimeout(resolve, 10));
  controller.abort(new Error("client went away"));
  await assert.rejects(call, /client went away/);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(aborted instanceof RpcError && aborted.code === -32800);
  await host.request("shutdown");
  await served.done;
});

Deno.test("servePlugin() finishes notification handlers and flushes before answering shutdown", async () => {
  const order: string[] = [];
  const { host, served } = await serve(() => ({
    ...baseHandlers(),
    observer: {
      emit: async ({ events }) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        order.push(`emit ${events.length}`);
      },
    },
    flush: () => {
      order.push("flush");
      return Promise.resolve();
    },
    close: () => {
      order.push("close");
    },
  }));
  await host.request("initialize", init({ token: SECRET }));
  const event = { type: "request.completed", time: "2026-01-01T00:00:00Z", request_id: "r1" };
  host.notify("observer.emit", { events: [event, event] });
  await host.request("shutdown");
  order.push("answered");
  await served.done;
  assert.deepEqual(order, ["emit 2", "flush", "close", "answered"]);
  assert.equal(served.shutdownRequested, true);
});

Deno.test("servePlugin() flushes at end of input without shutdown", async () => {
  let flushed = false;
  const { host, served } = await serve(() => ({
    ...baseHandlers(),
    flush: () => {
      flushed = true;
      return Promise.resolve();
    },
  }));
  await host.request("initialize", init({ token: SECRET }));
  await host.close();
  await served.done;
  assert.equal(flushed, true);
  assert.equal(served.shutdownRequested, false);
});

Deno.test("servePlugin() fails initialize when create returns handlers of an undeclared capability", async () => {
  const { host, served } = await serve(() => ({
    ...baseHandlers(),
    authenticator: { authenticate: () => ({ decision: "abstain" }) },
  }));
  const error = await host.request("initialize", init({ token: SECRET })).catch((e) => e);
  assert.ok(error instanceof RpcError && error.code === -32603);
  assert.match(error.message, /capability "authenticator", which it does not declare/);
  await host.close();
  await served.done;
});

Deno.test("servePlugin() ignores a malformed notification and logs it", async () => {
  const { host, served, logs } = await serve();
  await host.request("initialize", init({ token: SECRET }));
  host.notify("observer.emit", { events: "not a list" });
  assert.deepEqual(await host.request("health"), { status: "ok" });
  assert.ok(
    logs.some((record) => String(record.msg).startsWith('Ignored notification "observer.emit"')),
  );
  await host.request("shutdown");
  await served.done;
});

Deno.test("servePlugin() reports health from the plugin and unavailable before initialize", async () => {
  const { host, served } = await serve(() => ({
    ...baseHandlers(),
    health: () => ({ status: "degraded", detail: { backlog: 7 } }),
  }));
  assert.deepEqual(await host.request("health"), {
    status: "unavailable",
    detail: { reason: "not initialized" },
  });
  await host.request("initialize", init({ token: SECRET }));
  assert.deepEqual(await host.request("health"), { status: "degraded", detail: { backlog: 7 } });
  await host.request("shutdown");
  await served.done;
});

Deno.test("servePlugin() ignores quietly an optional notification the plugin leaves out", async () => {
  const logs: Record<string, unknown>[] = [];
  const [core, side] = createLinkedPair();
  const plugin = definePlugin<Config>({
    name: "no-feedback",
    version: "1.0.0",
    description: "A router without feedback",
    capabilities: ["router"],
    config: configSchema,
    create: () => ({
      router: {
        route: ({ model }) => ({ routes: [{ upstream: "u", model }] }),
        models: () => ({ models: [] }),
      },
    }),
  });
  const served = servePlugin(plugin, side, { writeLog: (line) => logs.push(JSON.parse(line)) });
  const host = new Peer(core);
  await host.start();
  await host.request("initialize", init({ token: SECRET }, ["router"]));
  host.notify("router.feedback", { upstream: "u", model: "m", outcome: "success", latency_ms: 5 });
  await host.request("health");
  assert.deepEqual(logs.filter((record) => record.level === "warn"), []);
  await host.request("shutdown");
  await served.done;
});

Deno.test("servePlugin() finishes a slow shutdown flush and answers it when input ends meanwhile", async () => {
  const out: string[] = [];
  let flushed = false;
  const input = new TransformStream<Uint8Array, Uint8Array>();
  const output = new WritableStream<Uint8Array>({
    write: (chunk) => void out.push(new TextDecoder().decode(chunk)),
  });
  const { StreamTransport } = await import("../protocol/mod.ts");
  const served = servePlugin(
    makePlugin(() => ({
      ...baseHandlers(),
      flush: async () => {
        await new Promise((resolve) => setTimeout(resolve, 100));
        flushed = true;
      },
    })),
    new StreamTransport(input.readable, output),
    { writeLog: () => {} },
  );
  const writer = input.writable.getWriter();
  const send = (message: unknown) =>
    writer.write(new TextEncoder().encode(JSON.stringify(message) + "\n"));
  await send({ jsonrpc: "2.0", id: 1, method: "initialize", params: init({ token: SECRET }) });
  while (!out.join("").includes('"id":1')) await new Promise((resolve) => setTimeout(resolve, 5));
  await send({ jsonrpc: "2.0", id: 2, method: "shutdown" });
  await writer.close();
  await served.done;
  assert.equal(flushed, true);
  assert.ok(out.join("").includes('{"jsonrpc":"2.0","id":2,"result":{}}'), out.join(""));
});

Deno.test("servePlugin() handles a notification before a request sent after it", async () => {
  let feedbacks = 0;
  const { host } = await serve(() => ({
    ...baseHandlers(),
    router: {
      route: ({ model }) => ({ routes: [{ upstream: `u${feedbacks}`, model }] }),
      feedback: () => void feedbacks++,
      models: () => ({ models: [] }),
    },
  }));
  await host.request("initialize", init({ token: SECRET }));
  const feedback = { upstream: "u", model: "m", outcome: "success", latency_ms: 5 };
  host.notify("router.feedback", feedback);
  const answer = await host.request("router.route", {
    model: "m",
    identity: { groups: [] },
    request: { stream: false, estimated_tokens: 1 },
  });
  assert.deepEqual(answer, { routes: [{ upstream: "u1", model: "m" }] });
  await host.request("shutdown");
});
