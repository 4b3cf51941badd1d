import assert from "node:assert/strict";
import { checkHealth, observerClient, PluginProcess } from "@vulpes/contract/host";
import type { ObserverEvent } from "@vulpes/contract/capabilities";
import {
  assertConfigRefused,
  assertConformant,
  assertDescribedPermissions,
  declaredFlags,
  pluginBinary,
  shutsDown,
} from "../../tests/_support.ts";
import { type FlatSpan, type Receiver, startReceiver } from "./_testing.ts";

const BINARY = pluginBinary("observer-otel");
const SECRET = "otlp-header-secret-value-42";
const TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
const CLIENT_SPAN = "b7ad6b7169203331";
const TRACEPARENT = `00-${TRACE_ID}-${CLIENT_SPAN}-01`;

function config(receiver: Receiver, extra: Record<string, unknown> = {}) {
  return {
    endpoint: receiver.url,
    headers: { "x-api-key": SECRET },
    resource_attributes: { "deployment.environment.name": "test" },
    provider_names: { azure: "azure.ai.openai" },
    // Long intervals: whatever arrives before shutdown came from a full batch, the rest from
    // the flush.
    batch: { max_size: 512, interval_ms: 60_000 },
    metrics_interval_ms: 60_000,
    ...extra,
  };
}

async function start(
  receiver: Receiver,
  logs: Record<string, unknown>[],
  extra: Record<string, unknown> = {},
): Promise<PluginProcess> {
  return await PluginProcess.start({
    command: BINARY,
    instance: "otel",
    capabilities: ["observer"],
    config: config(receiver, extra),
    onLog: (record) => logs.push(record),
    restart: false,
  });
}

const T0 = Date.parse("2026-03-01T12:00:00.000Z");
const at = (ms: number) => new Date(T0 + ms).toISOString();

/** One request with a failed then a successful attempt, one failure, one rejection. */
function scenario(): ObserverEvent[][] {
  const route = { upstream: "azure", model: "gpt-4o-prod", deployment: "azure-eu" };
  return [
    [{
      type: "upstream.attempt",
      time: at(300),
      request_id: "req-1",
      model: "gpt-4o",
      route: { upstream: "openai", model: "gpt-4o" },
      status: 503,
      latency_ms: 250,
      error: { type: "upstream_error", message: "Service Unavailable" },
      traceparent: TRACEPARENT,
    }],
    [
      {
        type: "upstream.attempt",
        time: at(1_000),
        request_id: "req-1",
        model: "gpt-4o",
        route,
        status: 200,
        latency_ms: 650,
        ttft_ms: 120,
        usage: { prompt_tokens: 12, completion_tokens: 30, total_tokens: 42 },
        traceparent: TRACEPARENT,
      },
      {
        type: "request.completed",
        time: at(1_010),
        request_id: "req-1",
        tenant: "acme",
        subject: "alice",
        model: "gpt-4o",
        route,
        status: 200,
        latency_ms: 1_010,
        ttft_ms: 400,
        usage: { prompt_tokens: 12, completion_tokens: 30, total_tokens: 42 },
        traceparent: TRACEPARENT,
        finish_reason: "stop",
      } as ObserverEvent,
      {
        type: "request.failed",
        time: at(2_000),
        request_id: "req-2",
        model: "gpt-4o",
        route,
        status: 504,
        latency_ms: 900,
        error: { type: "upstream_timeout", message: "Upstream timed out" },
      },
      {
        type: "request.rejected",
        time: at(2_500),
        request_id: "req-3",
        model: "gpt-4o",
        status: 429,
        latency_ms: 2,
        error: { type: "rate_limited", message: "Too many requests" },
      },
    ],
  ];
}

const byName = (spans: FlatSpan[], requestId: string) =>
  spans.filter((s) => s.attributes["vulpes.request_id"] === requestId);

function checkScenario(receiver: Receiver): void {
  const spans = receiver.spans();
  assert.equal(spans.length, 5, JSON.stringify(spans.map((s) => s.name)));

  const [request, ...attempts] = byName(spans, "req-1").sort((a, b) => a.kind - b.kind);
  assert.ok(request);
  // The request span continues the client's trace under the client's span.
  assert.equal(request.name, "chat gpt-4o");
  assert.equal(request.kind, 2, "SERVER");
  assert.equal(request.traceId, TRACE_ID);
  assert.equal(request.parentSpanId, CLIENT_SPAN);
  assert.equal(request.endNs - request.startNs, 1_010_000_000n);
  assert.equal(request.startNs, BigInt(T0) * 1_000_000n);
  assert.deepEqual(
    Object.fromEntries(Object.entries(request.attributes).filter(([k]) => k.startsWith("gen_ai."))),
    {
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "azure.ai.openai",
      "gen_ai.request.model": "gpt-4o",
      "gen_ai.response.model": "gpt-4o-prod",
      "gen_ai.response.finish_reasons": ["stop"],
      "gen_ai.response.time_to_first_chunk": 0.4,
      "gen_ai.usage.input_tokens": 12,
      "gen_ai.usage.output_tokens": 30,
    },
  );
  assert.equal(request.attributes["http.response.status_code"], 200);
  assert.equal(request.attributes["vulpes.tenant"], "acme");
  assert.equal(request.attributes["error.type"], undefined);
  assert.equal(request.status.code, 0);
  assert.equal(request.resource["service.name"], "vulpes-gateway");
  assert.equal(request.resource["deployment.environment.name"], "test");

  // Both attempts are CLIENT children of the request span, though the first came a batch early.
  assert.equal(attempts.length, 2);
  for (const attempt of attempts) {
    assert.equal(attempt.kind, 3, "CLIENT");
    assert.equal(attempt.traceId, TRACE_ID);
    assert.equal(attempt.parentSpanId, request.spanId);
  }
  const failed = attempts.find((a) => a.attributes["http.response.status_code"] === 503)!;
  assert.equal(failed.name, "chat gpt-4o");
  assert.equal(failed.attributes["gen_ai.provider.name"], "openai");
  assert.equal(failed.attributes["error.type"], "upstream_error");
  assert.deepEqual(failed.status, { code: 2, message: "Service Unavailable" });
  const ok = attempts.find((a) => a !== failed)!;
  assert.equal(ok.name, "chat gpt-4o-prod");
  assert.equal(ok.attributes["gen_ai.request.model"], "gpt-4o-prod");
  assert.equal(ok.attributes["vulpes.deployment"], "azure-eu");
  assert.equal(ok.status.code, 0);

  const [timeout] = byName(spans, "req-2");
  assert.equal(timeout?.attributes["error.type"], "upstream_timeout");
  assert.equal(timeout?.status.code, 2);
  assert.equal(timeout?.parentSpanId, "", "no traceparent: a root span");
  assert.match(timeout?.traceId ?? "", /^[0-9a-f]{32}$/);
  const [rejected] = byName(spans, "req-3");
  assert.equal(rejected?.attributes["error.type"], "rate_limited");
  assert.equal(rejected?.status.code, 0, "a rejection is the caller's error: status unset");

  const points = receiver.points();
  const tokens = points.filter((p) => p.metric === "gen_ai.client.token.usage");
  assert.ok(tokens.length >= 2);
  const input = tokens.find((p) => p.attributes["gen_ai.token.type"] === "input")!;
  const output = tokens.find((p) => p.attributes["gen_ai.token.type"] === "output")!;
  assert.equal(input.unit, "{token}");
  assert.equal(input.sum, 12);
  assert.equal(output.sum, 30);
  assert.equal(input.attributes["gen_ai.provider.name"], "azure.ai.openai");
  assert.equal(input.attributes["gen_ai.request.model"], "gpt-4o");
  assert.equal(input.bounds[0], 1);
  assert.equal(input.bounds.at(-1), 67108864);
  const durations = points.filter((p) => p.metric === "gen_ai.client.operation.duration");
  assert.ok(durations.every((p) => p.unit === "s"));
  const success = durations.find((p) => p.attributes["error.type"] === undefined)!;
  assert.equal(success.sum, 1.01);
  assert.equal(success.bounds[0], 0.01);
  const failure = durations.find((p) => p.attributes["error.type"] === "upstream_timeout")!;
  assert.equal(failure.sum, 0.9);
  assert.ok(
    !durations.some((p) => p.attributes["error.type"] === "rate_limited"),
    "rejections are not operations",
  );
  const ttfc = points.find((p) => p.metric === "gen_ai.client.operation.time_to_first_chunk");
  assert.equal(ttfc?.sum, 0.4);
}

Deno.test("bin/observer-otel passes the conformance check", async () => {
  const receiver = startReceiver();
  try {
    await assertConformant(BINARY, { config: config(receiver) });
  } finally {
    await receiver.close();
  }
});

Deno.test("bin/observer-otel holds network and the exporters' OTEL_* variables only", async () => {
  const flags = declaredFlags("observer-otel");
  const env = flags.find((flag) => flag.startsWith("--allow-env="));
  assert.ok(env, "env access is a named list, never all of it");
  const names = env.slice("--allow-env=".length).split(",");
  assert.ok(names.every((name) => /^OTEL_EXPORTER_OTLP_[A-Z_]+$/.test(name)), names.join(","));
  assert.deepEqual(flags.filter((flag) => flag !== env).sort(), ["--allow-net", "--no-prompt"]);
  // Deno 2.9 reports a named-variable grant as `partial: false`, so the manifest says "none";
  // what matters here is that it is not "all".
  await assertDescribedPermissions(BINARY, {
    capabilities: ["observer"],
    granted: { net: "all" },
    scoped: ["env"],
  });
});

for (const protocol of ["http/json", "http/protobuf"] as const) {
  Deno.test(`bin/observer-otel sends GenAI spans and metrics as ${protocol}, flushed on shutdown`, async () => {
    const receiver = startReceiver();
    const logs: Record<string, unknown>[] = [];
    try {
      await using plugin = shutsDown(await start(receiver, logs, { protocol }));
      const client = observerClient(plugin);
      for (const events of scenario()) client.emit({ events });
      const health = await checkHealth(plugin);
      assert.equal(health.status, "ok");
      assert.equal(receiver.received.length, 0, "nothing is sent before a batch fills or flushes");
      await plugin.shutdown();

      const contentType = protocol === "http/json" ? "application/json" : "application/x-protobuf";
      assert.ok(receiver.received.length >= 2);
      for (const request of receiver.received) {
        assert.equal(request.contentType, contentType);
        assert.equal(request.headers.get("x-api-key"), SECRET);
      }
      assert.ok(receiver.received.some((r) => r.path === "/v1/traces"));
      assert.ok(receiver.received.some((r) => r.path === "/v1/metrics"));
      checkScenario(receiver);
      assert.ok(logs.some((record) => record.msg === "flushed" && record.spans_exported === 5));
      assert.ok(!JSON.stringify(logs).includes(SECRET), "the header secret never reaches the log");
    } finally {
      await receiver.close();
    }
  });
}

Deno.test("bin/observer-otel drops the oldest events when the receiver is slow, and says so", async () => {
  const receiver = startReceiver();
  receiver.delayMs = 1_500;
  const logs: Record<string, unknown>[] = [];
  try {
    await using plugin = shutsDown(
      await start(receiver, logs, {
        queue_capacity: 5,
        batch: { max_size: 1, interval_ms: 60_000 },
        timeout_ms: 5_000,
      }),
    );
    const client = observerClient(plugin);
    const events = Array.from({ length: 40 }, (_, i): ObserverEvent => ({
      type: "request.completed",
      time: at(i),
      request_id: `bulk-${i}`,
      model: "gpt-4o",
      status: 200,
      latency_ms: 5,
    }));
    for (const event of events) client.emit({ events: [event] });
    // The core's emit never waits, and health answers at once although the receiver stalls.
    let health = await checkHealth(plugin);
    for (let i = 0; i < 50 && health.status === "ok"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      const started = Date.now();
      health = await checkHealth(plugin);
      assert.ok(Date.now() - started < 500);
    }
    assert.equal(health.status, "degraded", JSON.stringify(health));
    const detail = health.detail as { dropped: number; queued: number };
    assert.ok(detail.dropped >= 30, JSON.stringify(detail));
    assert.ok(detail.queued <= 5);
    receiver.delayMs = 0;
    await plugin.shutdown({ timeoutMs: 20_000 });
    const drop = logs.find((record) =>
      record.msg === "event queue full: dropping the oldest events"
    );
    assert.ok(drop, JSON.stringify(logs));
    assert.equal(drop.capacity, 5);
    // The newest events survive.
    const sent = new Set(receiver.spans().map((s) => s.attributes["vulpes.request_id"]));
    assert.ok(sent.has("bulk-39"));
    assert.equal(sent.size + detail.dropped, 40);
  } finally {
    await receiver.close();
  }
});

Deno.test("bin/observer-otel reports a refusing receiver in health and the log, without the secret", async () => {
  const receiver = startReceiver();
  receiver.status = 400;
  const logs: Record<string, unknown>[] = [];
  try {
    await using plugin = shutsDown(
      await start(receiver, logs, { batch: { max_size: 1, interval_ms: 60_000 } }),
    );
    observerClient(plugin).emit({
      events: [{ type: "request.completed", time: at(0), request_id: "x", model: "m" }],
    });
    await receiver.until(() => receiver.received.length > 0);
    let health = await checkHealth(plugin);
    for (let i = 0; i < 50 && health.status === "ok"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      health = await checkHealth(plugin);
    }
    assert.equal(health.status, "degraded");
    const detail = health.detail as Record<string, unknown>;
    assert.equal(detail.spans_failed, 1);
    assert.match(String(detail.last_error), /^traces: /);
    await plugin.shutdown();
    assert.ok(logs.some((record) => record.msg === "OTLP traces export failed"));
    assert.ok(!JSON.stringify(logs).includes(SECRET));
  } finally {
    await receiver.close();
  }
});

Deno.test("bin/observer-otel sends a partial batch after batch.interval_ms, without a flush", async () => {
  const receiver = startReceiver();
  const logs: Record<string, unknown>[] = [];
  try {
    await using plugin = shutsDown(
      await start(receiver, logs, { batch: { max_size: 512, interval_ms: 100 } }),
    );
    const unsampled = `00-${TRACE_ID.replace("0af7", "1bf7")}-${CLIENT_SPAN}-00`;
    observerClient(plugin).emit({
      events: [
        ...scenario()[1]!,
        // The client did not sample this one: with sampling "parent" its spans are not sent.
        { type: "upstream.attempt", time: at(0), request_id: "quiet", traceparent: unsampled },
        { type: "request.completed", time: at(0), request_id: "quiet", traceparent: unsampled },
      ],
    });
    await receiver.until(() => receiver.spans().length === 4, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(!receiver.spans().some((s) => s.attributes["vulpes.request_id"] === "quiet"));
    assert.equal((await checkHealth(plugin)).status, "ok");
    await plugin.shutdown();
  } finally {
    await receiver.close();
  }
});

Deno.test("bin/observer-otel refuses a bad config naming every field, without the secret", async () => {
  const error = await assertConfigRefused(
    PluginProcess.start({
      command: BINARY,
      instance: "otel",
      capabilities: ["observer"],
      config: {
        endpoint: "ftp://collector",
        protocol: "grpc",
        headers: { "bad header": SECRET },
        batch: { max_size: 0 },
        colour: "red",
      },
      onLog: () => {},
      restart: false,
    }),
    ["batch.max_size", "colour", "endpoint", 'headers["bad header"]', "protocol"],
  );
  assert.ok(!JSON.stringify({ message: error.message, data: error.data }).includes(SECRET));
});
