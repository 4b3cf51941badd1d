/**
 * End to end: the gateway as a process with a gateway.yaml, real plugin binaries from bin/,
 * fake OpenAI upstreams on free ports, and the official `openai` client.
 *
 * @module
 */

import assert from "node:assert/strict";
import OpenAI from "openai";
import { startFakeOpenAI } from "@vulpes/contract/testing";
import {
  bin,
  fixtureLauncher,
  type GatewayProcess,
  observedEvents,
  runRefused,
  startGatewayProcess,
  tempDir,
  waitFor,
  writeConfig,
} from "./testdata/harness.ts";

const DEMO_KEY = "sk-vulpes-demo";
const DEMO_SHA256 = "d5e9709b188358a5365475eca27bbd8a252947e816d673207237cc3672d33ebc";
const UPSTREAM_SECRET = "sk-upstream-secret-0123456789abcdef";
const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

function keysPlugin() {
  return {
    name: "keys",
    source: { type: "filesystem", path: bin("authn-static-api-key") },
    capabilities: ["authenticator"],
    fail_mode: "closed",
    timeout_ms: 2000,
    config: { keys: [{ id: "demo", sha256: DEMO_SHA256, subject: "demo-user", tenant: "demo" }] },
  };
}

function upstream(name: string, baseUrl: string, config: Record<string, unknown> = {}) {
  return {
    name,
    source: { type: "filesystem", path: bin("upstream-openai") },
    capabilities: ["upstream_provider"],
    timeout_ms: 30_000,
    config: { base_url: `${baseUrl}/v1`, ...config },
  };
}

function router(models: Record<string, string[]>) {
  return {
    name: "router",
    source: { type: "filesystem", path: bin("router-weighted") },
    capabilities: ["router"],
    timeout_ms: 2000,
    config: {
      models: Object.fromEntries(
        Object.entries(models).map(([model, upstreams]) => [
          model,
          { targets: upstreams.map((u) => ({ upstream: u })) },
        ]),
      ),
    },
  };
}

function client(gateway: GatewayProcess, apiKey = DEMO_KEY): OpenAI {
  return new OpenAI({ apiKey, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
}

Deno.test("the gateway serves the openai client: chat, streams, embeddings, models, cache, limits, events", async (t) => {
  await using fake = await startFakeOpenAI();
  await using dir = await tempDir();
  const fixture = fixtureLauncher(dir.path);
  const file = writeConfig(dir.path, {
    server: { listen: "127.0.0.1:8080", capture_payloads: true },
    plugins: [
      keysPlugin(),
      {
        name: "limits",
        source: { type: "filesystem", path: fixture },
        capabilities: ["rate_limiter"],
      },
      {
        name: "cache",
        source: { type: "filesystem", path: fixture },
        capabilities: ["cache_provider"],
      },
      router({ "gpt-4o-mini": ["mock"], "text-embedding-3-small": ["mock"] }),
      upstream("mock", fake.url),
      { name: "events", source: { type: "filesystem", path: fixture }, capabilities: ["observer"] },
    ],
  });
  const gateway = await startGatewayProcess(file);
  const openai = client(gateway);
  const messages = [{ role: "user" as const, content: "Hello gateway" }];
  try {
    await t.step(
      "chat without streaming answers, with request id, limits and cache headers",
      async () => {
        const { data, response } = await openai.chat.completions
          .create({ model: "gpt-4o-mini", messages }, { headers: { traceparent: TRACEPARENT } })
          .withResponse();
        assert.equal(data.choices[0]!.message.content, "Echo: Hello gateway");
        assert.ok(data.usage && data.usage.total_tokens > 0);
        assert.match(response.headers.get("x-request-id") ?? "", /^req_/);
        assert.equal(response.headers.get("x-vulpes-cache"), "miss");
        assert.equal(response.headers.get("x-ratelimit-limit-requests"), "1000");
        assert.equal(response.headers.get("x-ratelimit-remaining-requests"), "999");
      },
    );

    await t.step("the same request is a cache hit, also when streamed", async () => {
      const { data, response } = await openai.chat.completions
        .create({ model: "gpt-4o-mini", messages }).withResponse();
      assert.equal(response.headers.get("x-vulpes-cache"), "hit");
      assert.equal(data.choices[0]!.message.content, "Echo: Hello gateway");
      const stream = await openai.chat.completions.create({
        model: "gpt-4o-mini",
        messages,
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = "";
      let usage;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? "";
        usage ??= chunk.usage ?? undefined;
      }
      assert.equal(text, "Echo: Hello gateway");
      assert.ok(usage);
      const noCache = await openai.chat.completions
        .create({ model: "gpt-4o-mini", messages }, { headers: { "cache-control": "no-cache" } })
        .withResponse();
      assert.equal(noCache.response.headers.get("x-vulpes-cache"), "miss");
    });

    await t.step("a stream with include_usage ends with a usage chunk", async () => {
      const stream = await openai.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "Stream this please" }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = "";
      let usage;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? "";
        if (chunk.usage) usage = chunk.usage;
      }
      assert.equal(text, "Echo: Stream this please");
      assert.ok(usage && usage.total_tokens > 0, "usage present");
    });

    await t.step("a stream without include_usage has no usage chunk", async () => {
      const stream = await openai.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "No usage here" }],
        stream: true,
      });
      let text = "";
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? "";
        assert.ok(!chunk.usage, "no usage in any chunk");
        assert.ok(chunk.choices.length > 0, "no empty usage chunk");
      }
      assert.equal(text, "Echo: No usage here");
    });

    await t.step("embeddings", async () => {
      const answer = await openai.embeddings.create({
        model: "text-embedding-3-small",
        input: "vectors",
      });
      assert.equal(answer.data.length, 1);
      assert.ok(answer.data[0]!.embedding.length > 0);
    });

    await t.step("models come from the routers", async () => {
      const ids = [];
      for await (const model of openai.models.list()) ids.push(model.id);
      assert.deepEqual(ids.sort(), ["gpt-4o-mini", "text-embedding-3-small"]);
    });

    await t.step("a bad key is a 401", async () => {
      await assert.rejects(
        client(gateway, "sk-wrong").chat.completions.create({ model: "gpt-4o-mini", messages }),
        (error) => error instanceof OpenAI.AuthenticationError && error.status === 401,
      );
      await assert.rejects(
        client(gateway, "sk-wrong").models.list(),
        OpenAI.AuthenticationError,
      );
    });

    await t.step("an unknown model is a 404, a bad body a 400, a huge body a 413", async () => {
      await assert.rejects(
        openai.chat.completions.create({ model: "nope", messages }),
        (error) => error instanceof OpenAI.NotFoundError,
      );
      const bad = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${DEMO_KEY}` },
        body: "{not json",
      });
      assert.equal(bad.status, 400);
      assert.equal((await bad.json()).error.code, "invalid_json");
      const huge = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${DEMO_KEY}` },
        body: JSON.stringify({ model: "gpt-4o-mini", messages, pad: "x".repeat(1_100_000) }),
      });
      assert.equal(huge.status, 413);
      await huge.body?.cancel();
    });

    await t.step("observers get batched events with the client's traceparent", async () => {
      const types = ["request.completed", "cache.hit", "upstream.attempt", "request.rejected"];
      await waitFor("observer events", () => {
        const seen = new Set(observedEvents(gateway.stderr()).map((e) => e.type));
        return types.every((type) => seen.has(type));
      });
      const completed = observedEvents(gateway.stderr()).find((e) =>
        e.type === "request.completed" && e.traceparent === TRACEPARENT
      );
      assert.ok(completed, "the traceparent reached the observer");
      assert.equal(completed.subject, "demo-user");
      assert.equal(completed.tenant, "demo");
      assert.ok((completed.payload as { request: unknown }).request, "capture_payloads");
    });

    await t.step("healthz aggregates plugin health", async () => {
      const health = await (await fetch(`${gateway.url}/healthz`)).json();
      assert.equal(health.status, "ok");
      assert.deepEqual(Object.keys(health.plugins).sort(), [
        "cache",
        "events",
        "keys",
        "limits",
        "mock",
        "router",
      ]);
    });
  } finally {
    const status = await gateway.stop();
    assert.equal(status.code, 0, gateway.stderr());
  }
  // Shutdown flushed the observer: the last request's events reached it.
  assert.ok(gateway.stderr().includes('"msg":"stopped"'));
});

Deno.test("the gateway falls back, survives a plugin crash, never logs secrets", async (t) => {
  await using broken = await startFakeOpenAI();
  await using good = await startFakeOpenAI({ apiKey: UPSTREAM_SECRET });
  await using dir = await tempDir();
  const file = writeConfig(dir.path, {
    secrets: { providers: [{ type: "env" }] },
    plugins: [
      keysPlugin(),
      router({ "gpt-4o-mini": ["broken", "good"] }),
      upstream("broken", broken.url),
      upstream("good", good.url, { api_key: "${secret:UPSTREAM_KEY}" }),
    ],
  });
  const gateway = await startGatewayProcess(file, { UPSTREAM_KEY: UPSTREAM_SECRET });
  const openai = client(gateway);
  const messages = [{ role: "user" as const, content: "Fall back" }];
  try {
    await t.step("a 500 from the first upstream falls back to the second", async () => {
      broken.enqueue("/v1/chat/completions", {
        status: 500,
        body: { error: { message: "boom", type: "server_error" } },
      });
      const { data, response } = await openai.chat.completions
        .create({ model: "gpt-4o-mini", messages }).withResponse();
      assert.equal(data.choices[0]!.message.content, "Echo: Fall back");
      assert.equal(response.headers.get("x-vulpes-upstream"), "good");
      assert.equal(broken.requests.length, 1);
      assert.equal(good.requests.at(-1)!.headers.authorization, `Bearer ${UPSTREAM_SECRET}`);
    });

    await t.step("a stream falls back before its first chunk", async () => {
      broken.enqueue("/v1/chat/completions", { status: 503, body: { error: { message: "busy" } } });
      const stream = await openai.chat.completions.create({
        model: "gpt-4o-mini",
        messages,
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = "";
      let usage;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? "";
        if (chunk.usage) usage = chunk.usage;
      }
      assert.equal(text, "Echo: Fall back");
      assert.ok(usage);
    });

    await t.step("a 400 from the upstream is not retried", async () => {
      broken.enqueue("/v1/chat/completions", {
        status: 400,
        body: { error: { message: "bad temperature", type: "invalid_request_error" } },
      });
      const before = good.requests.length;
      await assert.rejects(
        openai.chat.completions.create({ model: "gpt-4o-mini", messages }),
        (error) => error instanceof OpenAI.BadRequestError,
      );
      assert.equal(good.requests.length, before);
    });

    await t.step("a killed plugin is restarted and serves again", async () => {
      const health = async () => await (await fetch(`${gateway.url}/healthz`)).json();
      const pid = (await health()).plugins.keys.pid as number;
      Deno.kill(pid, "SIGKILL");
      await waitFor("the restart", async () => {
        const keys = (await health()).plugins.keys;
        return keys.restarts >= 1 && keys.state === "ready" && keys.pid !== pid;
      });
      const answer = await openai.chat.completions.create({ model: "gpt-4o-mini", messages });
      assert.equal(answer.choices[0]!.message.content, "Echo: Fall back");
      assert.match(gateway.stderr(), /"msg":"plugin restarting"/);
    });
  } finally {
    const status = await gateway.stop();
    assert.equal(status.code, 0);
  }
  assert.ok(!gateway.stdout().includes(UPSTREAM_SECRET), "secret on stdout");
  assert.ok(!gateway.stderr().includes(UPSTREAM_SECRET), "secret on stderr");
});

Deno.test("the gateway refuses bad configs at start, naming the file, the plugin and the key", async () => {
  const cases: { name: string; config: unknown; env?: Record<string, string>; expect: RegExp }[] = [
    {
      name: "unknown",
      config: { plugins: [{ ...keysPlugin(), timeout: 5 }] },
      expect: /gateway\.yaml: plugins\[0\] "keys": timeout: unknown key/,
    },
    {
      name: "secret",
      config: {
        plugins: [upstream("openai", "http://127.0.0.1:1", { api_key: "${secret:NO_SUCH_KEY_X}" })],
      },
      expect:
        /plugins\[0\] "openai": \$\{secret:NO_SUCH_KEY_X\} at config\.api_key: no secret provider has NO_SUCH_KEY_X/,
    },
    {
      name: "path",
      config: {
        plugins: [{ ...keysPlugin(), source: { type: "filesystem", path: "../no/such/bin" } }],
      },
      expect: /plugins\[0\] "keys": source\.path: ".*\/no\/such\/bin" does not exist/,
    },
    {
      name: "capability",
      config: { plugins: [{ ...keysPlugin(), capabilities: ["router"] }] },
      expect:
        /plugins\[0\] "keys": capabilities\[0\]: "router" is not declared by ".*authn-static-api-key" \(it declares authenticator\)/,
    },
    {
      name: "schema",
      config: {
        plugins: [{
          ...keysPlugin(),
          config: { keys: [{ id: "x", sha256: "abc", subject: "s" }] },
        }],
      },
      expect: /plugins\[0\] "keys": config\.keys\[0\]\.sha256: /,
    },
  ];
  const dir = await Deno.makeTempDir();
  try {
    await Promise.all(cases.map(async (c) => {
      await Deno.mkdir(`${dir}/${c.name}`);
      const file = writeConfig(`${dir}/${c.name}`, c.config);
      const { code, stderr } = await runRefused(file, c.env ?? {});
      assert.equal(code, 1, `${c.name}: ${stderr}`);
      assert.match(stderr, c.expect, c.name);
      assert.ok(stderr.includes(file), `${c.name} names the file`);
    }));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
