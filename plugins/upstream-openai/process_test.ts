import assert from "node:assert/strict";
import OpenAI from "openai";
import { createChunkRouter, PluginProcess, upstreamProviderClient } from "@vulpes/contract/host";
import { PluginError } from "@vulpes/contract/protocol";
import { type FakeOpenAI, startFakeOpenAI } from "@vulpes/contract/testing";
import { assertConformant, pluginBinary } from "../../tests/_support.ts";
import { startOpenAIShim } from "../../tests/_openai_shim.ts";

const BINARY = pluginBinary("upstream-openai");
const API_KEY = "sk-upstream-test-secret-0042";
const route = { upstream: "openai", model: "gpt-4o-mini" };

interface Harness {
  fake: FakeOpenAI;
  plugin: PluginProcess;
  upstream: ReturnType<typeof upstreamProviderClient>;
  chunks: ReturnType<typeof createChunkRouter>;
  logs: Record<string, unknown>[];
  [Symbol.asyncDispose](): Promise<void>;
}

async function harness(config: Record<string, unknown> = {}): Promise<Harness> {
  const fake = await startFakeOpenAI({ apiKey: API_KEY });
  const chunks = createChunkRouter();
  const logs: Record<string, unknown>[] = [];
  const plugin = await PluginProcess.start({
    command: BINARY,
    instance: "openai",
    capabilities: ["upstream_provider"],
    config: { base_url: `${fake.url}/v1`, api_key: API_KEY, ...config },
    onLog: (record) => logs.push(record),
    onNotification: chunks.dispatch,
    restart: false,
  }).catch(async (error) => {
    await fake.close();
    throw error;
  });
  return {
    fake,
    plugin,
    chunks,
    logs,
    upstream: upstreamProviderClient(plugin, chunks),
    async [Symbol.asyncDispose]() {
      await plugin.shutdown();
      await fake.close();
    },
  };
}

const messages = [{ role: "user", content: "hello there" }];

async function rejection(promise: Promise<unknown>): Promise<PluginError> {
  const error = await promise.then(() => null, (e) => e);
  assert.ok(error instanceof PluginError, `expected a PluginError, got ${error}`);
  return error;
}

Deno.test("bin/upstream-openai passes the conformance check", async () => {
  await assertConformant(BINARY, {
    config: { base_url: "http://127.0.0.1:9/v1", api_key: API_KEY },
  });
});

Deno.test("bin/upstream-openai answers a chat completion with the route's model and the key", async () => {
  await using h = await harness({ organization: "org-9", headers: { "x-team": "core" } });
  const result = await h.upstream.chat({
    route,
    request: { model: "public-name", messages, temperature: 0 },
    stream: false,
  });
  assert.ok("response" in result);
  const response = result.response as {
    object: string;
    choices: { message: { content: string } }[];
  };
  assert.equal(response.object, "chat.completion");
  assert.equal(response.choices[0]!.message.content, "Echo: hello there");
  const sent = h.fake.requests.at(-1)!;
  assert.equal(sent.path, "/v1/chat/completions");
  assert.deepEqual(sent.body, { model: "gpt-4o-mini", messages, temperature: 0 });
  assert.equal(sent.headers.authorization, `Bearer ${API_KEY}`);
  assert.equal(sent.headers["openai-organization"], "org-9");
  assert.equal(sent.headers["x-team"], "core");
});

Deno.test("bin/upstream-openai streams chunks in order and always asks for usage", async () => {
  await using h = await harness();
  const chunks: Record<string, unknown>[] = [];
  const result = await h.upstream.chat(
    { route, request: { model: "x", messages, stream: true }, stream: true },
    { onChunk: (chunk) => chunks.push(chunk) },
  );
  const sent = h.fake.requests.at(-1)!.body as Record<string, unknown>;
  assert.deepEqual(sent.stream_options, { include_usage: true });
  const text = chunks.map((c) =>
    (c.choices as { delta: { content?: string } }[])[0]?.delta.content ?? ""
  ).join("");
  assert.equal(text, "Echo: hello there");
  assert.ok("finish_reason" in result);
  assert.equal(result.finish_reason, "stop");
  assert.ok(result.usage && result.usage.total_tokens > 0);
  assert.deepEqual(chunks.at(-1)!.choices, [], "the usage chunk comes last");
});

Deno.test("bin/upstream-openai reads streams that arrive in odd pieces", async () => {
  await using h = await harness();
  const data = (content: string, finish: string | null = null) =>
    JSON.stringify({
      id: "c1",
      object: "chat.completion.chunk",
      created: 1,
      model: "m",
      choices: [{ index: 0, delta: { content }, finish_reason: finish }],
    });
  h.fake.enqueue("/v1/chat/completions", {
    headers: { "content-type": "text/event-stream" },
    events: [
      ": keep-alive\r\n\r\n",
      `data: ${data("A")}\r\n\r\n`,
      `data: ${data("B").slice(0, 10)}`,
      `${data("B").slice(10)}\n\n`,
      `data:${data("C", "stop")}\r\r`,
      "data: [DONE]\n\n",
    ],
    eventDelayMs: 5,
  });
  const chunks: Record<string, unknown>[] = [];
  await h.upstream.chat({ route, request: { model: "x", messages }, stream: true }, {
    onChunk: (chunk) => chunks.push(chunk),
  });
  assert.deepEqual(
    chunks.map((c) => (c.choices as { delta: { content: string } }[])[0]!.delta.content),
    ["A", "B", "C"],
  );
});

Deno.test("bin/upstream-openai maps upstream failures to plugin errors", async () => {
  await using h = await harness();
  const cases: [number, Record<string, string>, string, number, Record<string, unknown>?][] = [
    [400, {}, "bad_request", 400],
    [401, {}, "upstream_error", 502],
    [403, {}, "forbidden", 403],
    [404, {}, "not_found", 404],
    [429, { "retry-after": "3" }, "rate_limited", 429, { retry_after_ms: 3000 }],
    [429, { "retry-after-ms": "1500" }, "rate_limited", 429, { retry_after_ms: 1500 }],
    [429, { "x-ratelimit-reset-requests": "1m2s" }, "rate_limited", 429, {
      retry_after_ms: 62_000,
    }],
    [500, {}, "upstream_error", 502],
    [503, {}, "upstream_error", 502],
  ];
  for (const [status, headers, type, httpStatus, extra] of cases) {
    h.fake.enqueue("/v1/chat/completions", {
      status,
      headers,
      body: {
        error: { message: `failure ${status}`, type: "x", param: "temperature", code: null },
      },
    });
    const error = await rejection(
      h.upstream.chat({ route, request: { model: "x", messages }, stream: false }),
    );
    assert.equal(error.type, type, `status ${status}`);
    assert.equal(error.data.status, httpStatus, `status ${status}`);
    assert.equal(error.data.upstream_status, status);
    assert.match(error.message, new RegExp(`failure ${status}`));
    for (const [key, value] of Object.entries(extra ?? {})) assert.equal(error.data[key], value);
  }
});

Deno.test("bin/upstream-openai reports an unreachable upstream and each timeout", async () => {
  await using h = await harness({ timeouts: { first_byte_ms: 300, idle_ms: 300, total_ms: 2000 } });
  h.fake.enqueue("/v1/chat/completions", { delayMs: 1000, body: {} });
  const slow = await rejection(
    h.upstream.chat({ route, request: { model: "x", messages }, stream: false }),
  );
  assert.equal(slow.type, "upstream_timeout");
  assert.match(slow.message, /did not answer within 300 ms/);
  h.fake.enqueue("/v1/chat/completions", {
    headers: { "content-type": "text/event-stream" },
    events: [
      `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", choices: [] })}\n\n`,
      "data: [DONE]\n\n",
    ],
    eventDelayMs: 1000,
  });
  const idle = await rejection(
    h.upstream.chat({ route, request: { model: "x", messages }, stream: true }),
  );
  assert.equal(idle.type, "upstream_timeout");
  assert.match(idle.message, /sent nothing within 300 ms/);

  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (closed.addr as Deno.NetAddr).port;
  closed.close();
  await using far = await harness({ base_url: `http://127.0.0.1:${port}/v1` });
  const unreachable = await rejection(
    far.upstream.chat({ route, request: { model: "x", messages }, stream: false }),
  );
  assert.equal(unreachable.type, "upstream_error");
  assert.match(
    unreachable.message,
    new RegExp(`Cannot reach the upstream http://127.0.0.1:${port}`),
  );
});

Deno.test("bin/upstream-openai fails clearly when the connection drops mid-stream or the stream reports an error", async () => {
  await using h = await harness();
  const chunk = JSON.stringify({
    id: "c",
    object: "chat.completion.chunk",
    created: 1,
    model: "m",
    choices: [{ index: 0, delta: { content: "x" }, finish_reason: null }],
  });
  h.fake.enqueue("/v1/chat/completions", {
    headers: { "content-type": "text/event-stream" },
    events: [`data: ${chunk}\n\n`, `data: ${chunk}\n\n`, `data: ${chunk}\n\n`],
    dropAfterEvents: 2,
  });
  const seen: unknown[] = [];
  const dropped = await rejection(
    h.upstream.chat({ route, request: { model: "x", messages }, stream: true }, {
      onChunk: (c) => seen.push(c),
    }),
  );
  assert.equal(dropped.type, "upstream_error");
  assert.equal(seen.length, 2);
  h.fake.enqueue("/v1/chat/completions", {
    headers: { "content-type": "text/event-stream" },
    events: [`data: ${chunk}\n\n`, `data: {"error":{"message":"model overloaded"}}\n\n`],
  });
  const midStream = await rejection(
    h.upstream.chat({ route, request: { model: "x", messages }, stream: true }),
  );
  assert.equal(midStream.message, "The upstream reported an error mid-stream: model overloaded");
});

Deno.test("bin/upstream-openai aborts the upstream request at once on cancel", async () => {
  await using h = await harness();
  h.fake.enqueue("/v1/chat/completions", { hang: true });
  const controller = new AbortController();
  const call = h.upstream.chat({ route, request: { model: "x", messages }, stream: false }, {
    signal: controller.signal,
  });
  while (h.fake.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
  controller.abort(new Error("client left"));
  await assert.rejects(call, /client left/);
  const deadline = Date.now() + 2000;
  let inFlight = 1;
  while (inFlight !== 0 && Date.now() < deadline) {
    const health = await h.plugin.request("health") as { detail: { in_flight: number } };
    inFlight = health.detail.in_flight;
    if (inFlight !== 0) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.equal(inFlight, 0, "the upstream call ended when the core cancelled it");
});

Deno.test("bin/upstream-openai routes to an allowed base_url override only", async () => {
  await using h = await harness();
  const other = await startFakeOpenAI({ apiKey: API_KEY });
  try {
    await using allowed = await harness({ allowed_base_urls: [other.url] });
    await allowed.upstream.chat({
      route: { ...route, options: { base_url: `${other.url}/v1` } },
      request: { model: "x", messages },
      stream: false,
    });
    assert.equal(other.requests.length, 1);
    const refused = await rejection(h.upstream.chat({
      route: { ...route, options: { base_url: `${other.url}/v1` } },
      request: { model: "x", messages },
      stream: false,
    }));
    assert.equal(refused.type, "bad_request");
    assert.equal(other.requests.length, 1);
    // Starts with the allowed prefix, but the host is the one after "@": never called.
    await using evil = await startFakeOpenAI();
    const disguised = await rejection(allowed.upstream.chat({
      route: { ...route, options: { base_url: `${other.url}@${new URL(evil.url).host}/v1` } },
      request: { model: "x", messages },
      stream: false,
    }));
    assert.equal(disguised.type, "bad_request");
    assert.match(disguised.message, /user info/);
    assert.equal(evil.requests.length, 0, "the API key went to another host");
  } finally {
    await other.close();
  }
});

Deno.test("bin/upstream-openai answers embeddings and lists models", async () => {
  await using h = await harness();
  const result = await h.upstream.embeddings({
    route: { upstream: "openai", model: "text-embedding-3-small" },
    request: { model: "emb", input: ["a", "b"] },
  });
  const data = (result.response as { data: unknown[] }).data;
  assert.equal(data.length, 2);
  assert.equal((h.fake.requests.at(-1)!.body as { model: string }).model, "text-embedding-3-small");
  const models = await h.upstream.models();
  assert.ok(models.models.some((m) => m.id === "gpt-4o-mini"));
});

Deno.test("bin/upstream-openai never logs its API key", async () => {
  const logs: Record<string, unknown>[] = [];
  {
    await using h = await harness();
    h.fake.enqueue("/v1/chat/completions", {
      status: 401,
      body: { error: { message: `bad key ${API_KEY}` } },
    });
    const error = await rejection(
      h.upstream.chat({ route, request: { model: "x", messages }, stream: false }),
    );
    assert.ok(!error.message.includes(API_KEY), "the key is redacted from the error");
    logs.push(...h.logs);
  }
  assert.ok(!JSON.stringify(logs).includes(API_KEY));
});

Deno.test("the official openai client parses what bin/upstream-openai produces", async () => {
  await using h = await harness();
  const shim = startOpenAIShim(h.plugin, h.chunks, route);
  try {
    const client = new OpenAI({ baseURL: shim.baseURL, apiKey: "client-key", maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: "any",
      messages: [{ role: "user", content: "hi you" }],
    });
    assert.equal(completion.choices[0]!.message.content, "Echo: hi you");
    const stream = await client.chat.completions.create({
      model: "any",
      messages: [{ role: "user", content: "what is the weather" }],
      tools: [{
        type: "function",
        function: { name: "get_weather", parameters: { type: "object" } },
      }],
      stream: true,
    });
    let name = "";
    let args = "";
    let usage = 0;
    for await (const chunk of stream) {
      const call = chunk.choices[0]?.delta.tool_calls?.[0];
      name += call?.function?.name ?? "";
      args += call?.function?.arguments ?? "";
      usage = chunk.usage?.total_tokens ?? usage;
    }
    assert.equal(name, "get_weather");
    assert.deepEqual(JSON.parse(args), { city: "Paris" });
    assert.ok(usage > 0);
    const embedding = await client.embeddings.create({ model: "e", input: "x" });
    assert.equal(embedding.data.length, 1);
    h.fake.enqueue("/v1/chat/completions", {
      status: 400,
      body: {
        error: {
          message: "messages must not be empty",
          type: "invalid_request_error",
          param: "messages",
          code: null,
        },
      },
    });
    const failure = await client.chat.completions.create({ model: "any", messages: [] }).catch((
      e,
    ) => e);
    assert.ok(failure instanceof OpenAI.APIError, String(failure));
    assert.equal(failure.status, 400);
    assert.match(failure.message, /messages must not be empty/);
    assert.equal((failure.error as { param?: string }).param, "messages");
  } finally {
    await shim.close();
  }
});
