import assert from "node:assert/strict";
import type { ObserverEvent } from "@vulpes/contract/capabilities";
import { checkHealth, observerClient, PluginProcess } from "@vulpes/contract/host";
import {
  assertConfigRefused,
  assertConformant,
  assertDescribedPermissions,
  declaredFlags,
  pluginBinary,
} from "../../tests/_support.ts";
import { promtoolCheckMetrics, startPrometheus, waitForSamples } from "../../tests/_prometheus.ts";

const BINARY = pluginBinary("observer-prometheus");

type LogRecord = Record<string, unknown>;

async function start(config: unknown, logs: LogRecord[] = []): Promise<PluginProcess> {
  return await PluginProcess.start({
    command: BINARY,
    instance: "metrics",
    capabilities: ["observer"],
    config,
    onLog: (record) => logs.push(record),
    restart: false,
  });
}

/** Health, asked until `done` holds for its detail (bounded). */
async function healthWhen(
  plugin: PluginProcess,
  done: (detail: LogRecord) => boolean,
): Promise<{ status: string; detail: LogRecord }> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const health = await checkHealth(plugin);
    const detail = (health.detail ?? {}) as LogRecord;
    if (done(detail) || Date.now() > deadline) return { status: health.status, detail };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function scrape(url: string): Promise<string> {
  const response = await fetch(url);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return await response.text();
}

const TIME = "2026-01-01T00:00:00.000Z";
const OPENAI = { upstream: "openai", model: "gpt-4o" };
const AZURE = { upstream: "azure", model: "gpt-4o-prod", deployment: "azure-eu" };
const USAGE = { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150 };

/** One of every kind: a fallback, a cache hit, a rate-limit rejection, a failure. */
const EVENTS: ObserverEvent[] = [
  {
    type: "upstream.attempt",
    time: TIME,
    request_id: "r1",
    tenant: "acme",
    model: "gpt-4o",
    route: AZURE,
    status: 503,
    latency_ms: 300,
    error: { type: "upstream_error", message: "down" },
  },
  {
    type: "upstream.attempt",
    time: TIME,
    request_id: "r1",
    tenant: "acme",
    model: "gpt-4o",
    route: OPENAI,
    status: 200,
    latency_ms: 1400,
    ttft_ms: 350,
    usage: USAGE,
  },
  {
    type: "request.completed",
    time: TIME,
    request_id: "r1",
    tenant: "acme",
    model: "gpt-4o",
    route: OPENAI,
    status: 200,
    latency_ms: 1800,
    ttft_ms: 420,
    usage: USAGE,
  },
  { type: "cache.hit", time: TIME, request_id: "r2", tenant: "acme", model: "gpt-4o" },
  {
    type: "request.completed",
    time: TIME,
    request_id: "r2",
    tenant: "acme",
    model: "gpt-4o",
    status: 200,
    latency_ms: 4,
  },
  {
    type: "request.rejected",
    time: TIME,
    request_id: "r3",
    tenant: "globex",
    model: "gpt-4o",
    status: 429,
    error: { type: "rate_limit_error", message: "slow down" },
  },
  {
    type: "request.failed",
    time: TIME,
    request_id: "r4",
    model: "o3",
    status: 404,
    latency_ms: 2,
    error: { type: "not_found_error", message: "no such model" },
  },
];

function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

Deno.test("bin/observer-prometheus passes the conformance check", async () => {
  await assertConformant(BINARY, { config: { listen: { port: 0 } } });
});

Deno.test("bin/observer-prometheus may only use the network on 127.0.0.1 and 0.0.0.0, as declared and as described", async () => {
  assert.deepEqual(declaredFlags("observer-prometheus"), [
    "--no-prompt",
    "--allow-net=127.0.0.1,0.0.0.0",
  ]);
  // A scoped grant: never "all". (Deno 2.9.6 answers querySync({name: "net"}) with "prompt"
  // and partial: false for --allow-net=<hosts>, so the manifest says "none" rather than
  // "partial"; the refusal of 127.0.0.2 below shows the scope holds.)
  await assertDescribedPermissions(BINARY, { capabilities: ["observer"], scoped: ["net"] });
});

Deno.test("bin/observer-prometheus serves /metrics that promtool accepts, with every event counted", async () => {
  const logs: LogRecord[] = [];
  const plugin = await start({ listen: { port: 0 }, tenant_label: { enabled: true } }, logs);
  try {
    observerClient(plugin).emit({ events: EVENTS });
    const { status, detail } = await healthWhen(plugin, (d) => d.processed === EVENTS.length);
    assert.equal(status, "ok");
    assert.equal(detail.processed, EVENTS.length);
    const url = String(detail.url);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const listening = logs.find((r) => r.msg === "listening");
    assert.equal(listening?.url, url, "the listening line names the bound port");

    const text = await scrape(url);
    const checked = await promtoolCheckMetrics(text);
    assert.ok(checked.ok, `promtool check metrics:\n${checked.output}\n${text}`);
    assert.equal(
      sample(
        text,
        'vulpes_requests_total{model="gpt-4o",upstream="openai",status_class="2xx",outcome="completed",tenant="acme"}',
      ),
      1,
    );
    assert.equal(
      sample(
        text,
        'vulpes_requests_total{model="gpt-4o",upstream="cache",status_class="2xx",outcome="completed",tenant="acme"}',
      ),
      1,
    );
    assert.equal(
      sample(
        text,
        'vulpes_requests_total{model="o3",upstream="none",status_class="4xx",outcome="failed",tenant="none"}',
      ),
      1,
    );
    assert.equal(
      sample(text, 'vulpes_rate_limit_rejections_total{model="gpt-4o",tenant="globex"}'),
      1,
    );
    assert.equal(sample(text, 'vulpes_cache_hits_total{model="gpt-4o",tenant="acme"}'), 1);
    assert.equal(sample(text, 'vulpes_cache_misses_total{model="gpt-4o",tenant="acme"}'), 1);
    assert.equal(sample(text, 'vulpes_cache_misses_total{model="o3",tenant="none"}'), 1);
    assert.equal(
      sample(text, 'vulpes_tokens_total{model="gpt-4o",upstream="openai",tenant="acme"}'),
      150,
    );
    assert.equal(
      sample(text, 'vulpes_prompt_tokens_total{model="gpt-4o",upstream="openai",tenant="acme"}'),
      120,
    );
    assert.equal(
      sample(
        text,
        'vulpes_completion_tokens_total{model="gpt-4o",upstream="openai",tenant="acme"}',
      ),
      30,
    );
    assert.equal(
      sample(
        text,
        'vulpes_upstream_attempts_total{model="gpt-4o",upstream="azure",status_class="5xx",outcome="error"}',
      ),
      1,
    );
    assert.equal(
      sample(text, 'vulpes_upstream_fallbacks_total{model="gpt-4o",upstream="openai"}'),
      1,
    );
    assert.equal(
      sample(
        text,
        'vulpes_request_duration_seconds_bucket{le="2",model="gpt-4o",upstream="openai",outcome="completed"}',
      ),
      1,
    );
    assert.equal(
      sample(
        text,
        'vulpes_time_to_first_token_seconds_bucket{le="0.5",model="gpt-4o",upstream="openai"}',
      ),
      1,
    );
    assert.equal(sample(text, "vulpes_observer_dropped_events_total"), 0);

    const elsewhere = await fetch(url.replace(/\/metrics$/, "/other"));
    assert.equal(elsewhere.status, 404);
    await elsewhere.body?.cancel();
    const head = await fetch(url, { method: "HEAD" });
    assert.equal(head.status, 200);
    const post = await fetch(url, { method: "POST" });
    assert.equal(post.status, 405);
    await post.body?.cancel();
  } finally {
    await plugin.shutdown();
  }
});

Deno.test("bin/observer-prometheus is scraped by a real Prometheus server", async () => {
  const plugin = await start({ listen: { port: 0 }, path: "/vulpes/metrics" });
  let prometheus: Awaited<ReturnType<typeof startPrometheus>> | undefined;
  try {
    observerClient(plugin).emit({ events: EVENTS });
    const { detail } = await healthWhen(plugin, (d) => d.processed === EVENTS.length);
    const target = new URL(String(detail.url));
    prometheus = await startPrometheus({ targets: [target.host], metricsPath: target.pathname });
    const samples = await waitForSamples(
      prometheus,
      'vulpes_requests_total{outcome="completed",upstream="openai"}',
    );
    assert.equal(samples.length, 1);
    assert.deepEqual(samples[0]!.metric, {
      __name__: "vulpes_requests_total",
      instance: target.host,
      job: "vulpes",
      model: "gpt-4o",
      outcome: "completed",
      status_class: "2xx",
      upstream: "openai",
    });
    assert.equal(samples[0]!.value[1], "1");
    const up = await waitForSamples(prometheus, "up");
    assert.equal(up[0]!.value[1], "1", "the scrape succeeded");
  } finally {
    await prometheus?.stop();
    await plugin.shutdown();
  }
});

Deno.test("bin/observer-prometheus bounds its queue: an overflow drops the oldest, counts them in health, /metrics and its log", async () => {
  const logs: LogRecord[] = [];
  const plugin = await start({ listen: { port: 0 }, queue: { capacity: 5, batch_size: 5 } }, logs);
  try {
    const burst = Array.from({ length: 50 }, (_, i) => ({
      type: "request.completed" as const,
      time: TIME,
      request_id: `burst-${i}`,
      model: "gpt-4o",
      status: 200,
    }));
    observerClient(plugin).emit({ events: burst });
    const health = await healthWhen(plugin, (d) => d.processed === 5);
    assert.equal(health.status, "degraded");
    assert.deepEqual({ ...health.detail, url: "" }, {
      url: "",
      queued: 0,
      processed: 5,
      dropped: 45,
      failed: 0,
      capacity: 5,
      tracked_requests: 0,
    });
    const text = await scrape(String(health.detail.url));
    assert.equal(sample(text, "vulpes_observer_dropped_events_total"), 45);
    assert.equal(
      sample(
        text,
        'vulpes_requests_total{model="gpt-4o",upstream="none",status_class="2xx",outcome="completed"}',
      ),
      5,
    );
    const warning = logs.find((r) => r.msg === "dropped events: the queue is full");
    assert.equal(warning?.level, "warn");
    assert.equal(warning?.dropped, 45);
  } finally {
    await plugin.shutdown();
  }
});

Deno.test("bin/observer-prometheus refuses a bad config naming every field", async () => {
  await assertConfigRefused(
    start({
      listen: { port: 70000 },
      path: "metrics",
      tenant_label: { enabled: "yes", max_values: 0 },
      buckets: { duration_seconds: [1, 0.5], ttft_seconds: [] },
      colour: "red",
    }),
    [
      "buckets.duration_seconds",
      "buckets.ttft_seconds",
      "colour",
      "listen.port",
      "path",
      "tenant_label.enabled",
      "tenant_label.max_values",
    ],
  );
});

Deno.test("bin/observer-prometheus refuses an address in use, and one its build does not permit", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (taken.addr as Deno.NetAddr).port;
    const inUse = await assertConfigRefused(start({ listen: { port } }), ["listen"]);
    assert.match(inUse.message, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}`));
  } finally {
    taken.close();
  }
  const denied = await assertConfigRefused(
    start({ listen: { hostname: "127.0.0.2", port: 0 } }),
    ["listen.hostname"],
  );
  assert.match(denied.message, /not permitted .*--allow-net=127\.0\.0\.1,0\.0\.0\.0/);
});
