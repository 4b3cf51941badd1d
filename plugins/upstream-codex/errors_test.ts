/**
 * bin/upstream-codex against a misbehaving fake server: HTTP errors, stream errors, dropped
 * connections, timeouts and cancellation, each becoming the plugin error the README lists.
 */

import assert from "node:assert/strict";
import { checkHealth } from "@vulpes/contract/host";
import { PluginError } from "@vulpes/contract/protocol";
import type { FakeReply } from "@vulpes/contract/testing";
import { chatParams, failure, streamed, withPlugin } from "./_testing.ts";

const REQUEST = { messages: [{ role: "user", content: "hi" }] };

function sse(type: string, fields: Record<string, unknown> = {}) {
  return { event: type, data: JSON.stringify({ type, ...fields }) };
}

const CREATED = sse("response.created", {
  response: { id: "resp_e", model: "codex-mini", created_at: 1, status: "in_progress" },
});
const DELTA = sse("response.output_text.delta", { item_id: "m", content_index: 0, delta: "Hi" });

function openaiError(message: string, extra: Record<string, unknown> = {}) {
  return { error: { message, type: "invalid_request_error", param: null, code: null, ...extra } };
}

async function pluginError(promise: Promise<unknown>): Promise<PluginError> {
  const error = await failure(promise);
  assert.ok(error instanceof PluginError, String(error));
  return error;
}

Deno.test("bin/upstream-codex maps upstream HTTP errors to plugin errors", async () => {
  const cases: [FakeReply, string, Record<string, unknown>, RegExp][] = [
    [
      { status: 400, body: openaiError("Unsupported parameter: 'x'", { param: "x" }) },
      "bad_request",
      { status: 400, upstream_status: 400, param: "x" },
      /refused the request \(400\): Unsupported parameter/,
    ],
    [
      { status: 401, body: openaiError("Incorrect API key provided") },
      "upstream_error",
      { status: 502, upstream_status: 401 },
      /gateway's credentials \(401\)/,
    ],
    [
      { status: 403, body: openaiError("Region not supported") },
      "forbidden",
      { status: 403 },
      /forbids/,
    ],
    [
      { status: 404, body: openaiError("The model 'codex-x' does not exist") },
      "not_found",
      { status: 404 },
      /does not exist/,
    ],
    [
      { status: 429, headers: { "retry-after-ms": "1500" }, body: openaiError("Slow down") },
      "rate_limited",
      { status: 429, retry_after_ms: 1500 },
      /rate limiting \(429\): Slow down/,
    ],
    [
      { status: 500, rawBody: "upstream exploded" },
      "upstream_error",
      { status: 502, upstream_status: 500 },
      /failed \(500\): upstream exploded/,
    ],
    [
      { status: 200, rawBody: "{not json" },
      "upstream_error",
      { status: 502 },
      /not JSON/,
    ],
    [
      { status: 200, body: { object: "list", data: [] } },
      "upstream_error",
      { status: 502 },
      /not a response object/,
    ],
  ];
  await withPlugin(async ({ fake, client }) => {
    for (const [reply, type, data, message] of cases) {
      fake.enqueue("/v1/responses", reply);
      const error = await pluginError(client.chat(chatParams(REQUEST)));
      assert.equal(error.type, type, `${reply.status}: ${error.message}`);
      for (const [key, value] of Object.entries(data)) assert.deepEqual(error.data[key], value);
      assert.match(error.message, message);
    }
  });
});

Deno.test("bin/upstream-codex maps the same HTTP errors on a streaming call", async () => {
  await withPlugin(async ({ fake, client }) => {
    fake.enqueue("/v1/responses", {
      status: 429,
      headers: { "retry-after": "2" },
      body: openaiError("Slow down"),
    });
    const error = await pluginError(streamed(client, REQUEST));
    assert.equal(error.type, "rate_limited");
    assert.equal(error.data.retry_after_ms, 2000);
  });
});

Deno.test("bin/upstream-codex fails a stream on an error event with the upstream message", async () => {
  await withPlugin(async ({ fake, client }) => {
    fake.enqueue("/v1/responses", {
      events: [
        CREATED,
        DELTA,
        sse("error", { code: "server_error", message: "Overloaded", param: null }),
      ],
    });
    const chunks: unknown[] = [];
    const error = await pluginError(
      client.chat(chatParams(REQUEST, true), { onChunk: (chunk) => chunks.push(chunk) }),
    );
    assert.equal(error.type, "upstream_error");
    assert.equal(error.message, "The upstream reported an error: Overloaded");
    assert.equal(chunks.length, 2, "the chunks before the error were relayed");
  });
});

Deno.test("bin/upstream-codex fails a stream on response.failed with the upstream message", async () => {
  await withPlugin(async ({ fake, client }) => {
    fake.enqueue("/v1/responses", {
      events: [
        CREATED,
        sse("response.failed", {
          response: {
            id: "resp_e",
            status: "failed",
            error: { code: "server_error", message: "The model crashed" },
          },
        }),
      ],
    });
    const error = await pluginError(streamed(client, REQUEST));
    assert.equal(error.type, "upstream_error");
    assert.equal(error.message, "The upstream failed: The model crashed");
    assert.equal(error.data.upstream_code, "server_error");
  });
});

Deno.test("bin/upstream-codex fails a stream that ends or drops before response.completed", async () => {
  await withPlugin(async ({ fake, client }) => {
    fake.enqueue(
      "/v1/responses",
      { events: [CREATED, DELTA] },
      { events: [CREATED, DELTA, DELTA, DELTA], dropAfterEvents: 2 },
    );
    for (let i = 0; i < 2; i++) {
      const error = await pluginError(streamed(client, REQUEST));
      assert.equal(error.type, "upstream_error");
      assert.equal(error.message, "The upstream closed the stream before it completed");
    }
  });
});

Deno.test("bin/upstream-codex times out a silent stream, a slow answer and a long stream", async () => {
  await withPlugin(async ({ fake, client }) => {
    fake.enqueue("/v1/responses", { events: [CREATED, DELTA], eventDelayMs: 2000 });
    const idle = await pluginError(streamed(client, REQUEST));
    assert.equal(idle.type, "upstream_timeout");
    assert.equal(idle.data.timeout, "idle");
    assert.match(idle.message, /sent nothing within 300 ms/);
    fake.enqueue("/v1/responses", { delayMs: 2000, body: {} });
    const slow = await pluginError(client.chat(chatParams(REQUEST)));
    assert.equal(slow.type, "upstream_timeout");
    assert.equal(slow.data.timeout, "first_byte");
    assert.equal(slow.data.status, 504);
    // Each event within idle_ms, the whole stream past total_ms.
    fake.enqueue("/v1/responses", {
      events: [CREATED, ...Array(10).fill(DELTA)],
      eventDelayMs: 150,
    });
    const long = await pluginError(streamed(client, REQUEST));
    assert.equal(long.type, "upstream_timeout");
    assert.equal(long.data.timeout, "total");
  }, { config: { timeouts: { first_byte_ms: 300, idle_ms: 300, total_ms: 1000 } } });
});

Deno.test("bin/upstream-codex reports an unreachable upstream as upstream_error", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await withPlugin(async ({ client }) => {
    const error = await pluginError(client.chat(chatParams(REQUEST)));
    assert.equal(error.type, "upstream_error");
    assert.match(error.message, new RegExp(`Cannot reach the upstream http://127.0.0.1:${port}`));
  }, { config: { base_url: `http://127.0.0.1:${port}/v1` } });
});

Deno.test("bin/upstream-codex aborts the upstream request at once on $/cancel", async () => {
  await withPlugin(async ({ fake, plugin, client }) => {
    fake.enqueue("/v1/responses", { hang: true });
    const controller = new AbortController();
    const call = client.chat(chatParams(REQUEST, true), { signal: controller.signal });
    while (fake.requests.length === 0) await new Promise((r) => setTimeout(r, 10));
    const started = Date.now();
    controller.abort(new Error("client went away"));
    await assert.rejects(call, /client went away/);
    let health = await checkHealth(plugin);
    while ((health.detail as { in_flight: number }).in_flight > 0 && Date.now() - started < 2000) {
      await new Promise((r) => setTimeout(r, 10));
      health = await checkHealth(plugin);
    }
    assert.deepEqual(health.detail, { calls: 1, failures: 1, in_flight: 0 });
    assert.ok(Date.now() - started < 2000, "the hanging request was dropped, not waited for");
  });
});
