import assert from "node:assert/strict";
import type { ObserverEvent } from "@vulpes/contract/capabilities";
import {
  attemptOutcome,
  EventMetrics,
  type EventMetricsOptions,
  TRACKED_REQUESTS,
} from "./_metrics.ts";
import { CappedLabel, statusClass } from "./_labels.ts";

const TIME = "2026-01-01T00:00:00.000Z";

function metrics(overrides: Partial<EventMetricsOptions> = {}): EventMetrics {
  return new EventMetrics({
    tenantLabel: { enabled: false, max_values: 100 },
    modelMaxValues: 200,
    durationBuckets: [0.5, 1, 5],
    ttftBuckets: [0.1, 0.5],
    ...overrides,
  });
}

/** The value of one series, or undefined when it does not exist. */
async function value(
  source: EventMetrics,
  name: string,
  labels: Record<string, string | number> = {},
): Promise<number | undefined> {
  const all = await source.registry.getMetricsAsJSON();
  const metric = all.find((m) => m.name === name.replace(/_(bucket|sum|count)$/, "")) ??
    all.find((m) => m.name === name);
  assert.ok(metric, `no metric ${name}`);
  const found = (metric.values as { metricName?: string; labels: object; value: number }[]).find(
    (v) =>
      (v.metricName ?? metric.name) === name &&
      JSON.stringify(Object.entries(v.labels).sort()) ===
        JSON.stringify(Object.entries(labels).sort()),
  );
  return found?.value;
}

function request(type: ObserverEvent["type"], id: string, fields: Partial<ObserverEvent> = {}) {
  return { type, time: TIME, request_id: id, model: "gpt-4o", ...fields } as ObserverEvent;
}

const OPENAI = { upstream: "openai", model: "gpt-4o" };
const AZURE = { upstream: "azure", model: "gpt-4o-prod" };

Deno.test("request events count requests by model, upstream, status class and outcome", async () => {
  const m = metrics();
  m.record(request("request.completed", "a", { route: OPENAI, status: 200, latency_ms: 800 }));
  m.record(request("request.completed", "b", { route: OPENAI, status: 200, latency_ms: 3000 }));
  m.record(
    request("request.failed", "c", {
      status: 502,
      latency_ms: 10,
      error: { type: "upstream_error", message: "x" },
    }),
  );
  m.record(request("request.rejected", "d", { status: 401, model: undefined as never }));
  assert.equal(
    await value(m, "vulpes_requests_total", {
      model: "gpt-4o",
      upstream: "openai",
      status_class: "2xx",
      outcome: "completed",
    }),
    2,
  );
  assert.equal(
    await value(m, "vulpes_requests_total", {
      model: "gpt-4o",
      upstream: "none",
      status_class: "5xx",
      outcome: "failed",
    }),
    1,
  );
  assert.equal(
    await value(m, "vulpes_requests_total", {
      model: "none",
      upstream: "none",
      status_class: "4xx",
      outcome: "rejected",
    }),
    1,
  );
  const labels = { model: "gpt-4o", upstream: "openai", outcome: "completed" };
  assert.equal(await value(m, "vulpes_request_duration_seconds_bucket", { ...labels, le: 1 }), 1);
  assert.equal(await value(m, "vulpes_request_duration_seconds_bucket", { ...labels, le: 5 }), 2);
  assert.equal(await value(m, "vulpes_request_duration_seconds_sum", labels), 3.8);
  assert.equal(await value(m, "vulpes_observer_events_total", { type: "request.completed" }), 2);
});

Deno.test("time to first token and usage are counted in seconds and tokens", async () => {
  const m = metrics();
  const usage = { prompt_tokens: 100, completion_tokens: 20, total_tokens: 125, reasoning: 5 };
  m.record(request("request.completed", "a", { route: OPENAI, status: 200, ttft_ms: 250, usage }));
  m.record(request("request.completed", "b", { route: OPENAI, status: 200, usage }));
  assert.equal(
    await value(m, "vulpes_time_to_first_token_seconds_bucket", {
      model: "gpt-4o",
      upstream: "openai",
      le: 0.5,
    }),
    1,
  );
  assert.equal(
    await value(m, "vulpes_time_to_first_token_seconds_count", {
      model: "gpt-4o",
      upstream: "openai",
    }),
    1,
  );
  const labels = { model: "gpt-4o", upstream: "openai" };
  assert.equal(await value(m, "vulpes_prompt_tokens_total", labels), 200);
  assert.equal(await value(m, "vulpes_completion_tokens_total", labels), 40);
  assert.equal(await value(m, "vulpes_tokens_total", labels), 250);
});

Deno.test("a cache hit counts a hit, labels its request upstream=cache, and other requests count misses", async () => {
  const m = metrics();
  m.record(request("cache.hit", "hit"));
  m.record(request("request.completed", "hit", { status: 200, latency_ms: 2 }));
  m.record(request("request.completed", "miss", { route: OPENAI, status: 200 }));
  m.record(request("request.failed", "failed", { status: 500 }));
  m.record(request("request.rejected", "rejected", { status: 401 }));
  assert.equal(await value(m, "vulpes_cache_hits_total", { model: "gpt-4o" }), 1);
  assert.equal(
    await value(m, "vulpes_cache_misses_total", { model: "gpt-4o" }),
    2,
    "completed and failed, not rejected",
  );
  assert.equal(
    await value(m, "vulpes_requests_total", {
      model: "gpt-4o",
      upstream: "cache",
      status_class: "2xx",
      outcome: "completed",
    }),
    1,
  );
  assert.equal(m.trackedRequests, 0, "the final event forgets the request");
});

Deno.test("a 429 rejection counts as a rate-limit rejection", async () => {
  const m = metrics();
  m.record(
    request("request.rejected", "a", {
      status: 429,
      error: { type: "rate_limit_error", message: "slow down" },
    }),
  );
  m.record(request("request.rejected", "b", { status: 403 }));
  assert.equal(await value(m, "vulpes_rate_limit_rejections_total", { model: "gpt-4o" }), 1);
});

Deno.test("upstream attempts count by outcome, and attempts beyond a request's first are fallbacks", async () => {
  const m = metrics();
  m.record(
    request("upstream.attempt", "a", {
      route: AZURE,
      status: 503,
      latency_ms: 400,
      error: { type: "upstream_error", message: "down" },
    }),
  );
  m.record(request("upstream.attempt", "a", { route: OPENAI, status: 200, latency_ms: 900 }));
  m.record(request("upstream.attempt", "b", { route: AZURE, status: 200, latency_ms: 100 }));
  m.record(request("request.completed", "a", { route: OPENAI, status: 200 }));
  m.record(request("request.completed", "b", { route: AZURE, status: 200 }));
  assert.equal(
    await value(m, "vulpes_upstream_attempts_total", {
      model: "gpt-4o",
      upstream: "azure",
      status_class: "5xx",
      outcome: "error",
    }),
    1,
  );
  assert.equal(
    await value(m, "vulpes_upstream_attempts_total", {
      model: "gpt-4o",
      upstream: "azure",
      status_class: "2xx",
      outcome: "success",
    }),
    1,
  );
  assert.equal(
    await value(m, "vulpes_upstream_fallbacks_total", { model: "gpt-4o", upstream: "openai" }),
    1,
  );
  assert.equal(
    await value(m, "vulpes_upstream_fallbacks_total", { model: "gpt-4o", upstream: "azure" }),
    undefined,
  );
  assert.equal(
    await value(m, "vulpes_upstream_attempt_duration_seconds_count", {
      upstream: "azure",
      outcome: "error",
    }),
    1,
  );
  assert.equal(m.trackedRequests, 0);
});

Deno.test("attemptOutcome() speaks router feedback's words", () => {
  const attempt = (status: number, type?: string) =>
    request("upstream.attempt", "a", { status, ...(type ? { error: { type, message: "" } } : {}) });
  assert.equal(attemptOutcome(attempt(200)), "success");
  assert.equal(attemptOutcome(attempt(429, "upstream_error")), "rate_limited");
  assert.equal(attemptOutcome(attempt(0, "rate_limited")), "rate_limited");
  assert.equal(attemptOutcome(attempt(504, "upstream_timeout")), "timeout");
  assert.equal(attemptOutcome(attempt(500, "upstream_error")), "error");
});

Deno.test("the tenant label appears only when enabled, capped with other, and the model label is capped", async () => {
  const capped: string[] = [];
  const off = metrics();
  off.record(request("request.completed", "a", { tenant: "acme", status: 200 }));
  assert.match(
    await off.registry.metrics(),
    /vulpes_requests_total\{model="gpt-4o",upstream="none",status_class="2xx",outcome="completed"\} 1/,
  );
  assert.doesNotMatch(await off.registry.metrics(), /tenant=/);

  const on = metrics({
    tenantLabel: { enabled: true, max_values: 2 },
    modelMaxValues: 1,
    onCap: (label, max) => capped.push(`${label}:${max}`),
  });
  for (
    const [id, tenant, model] of [
      ["1", "acme", "gpt-4o"],
      ["2", "globex", "gpt-4o"],
      ["3", "initech", "o3"],
      ["4", "umbrella", "o3"],
      ["5", undefined, "gpt-4o"],
    ]
  ) {
    on.record(
      request("request.completed", id!, {
        ...(tenant ? { tenant } : {}),
        model: model!,
        status: 200,
      }),
    );
  }
  const base = { upstream: "none", status_class: "2xx", outcome: "completed" };
  assert.equal(
    await value(on, "vulpes_requests_total", { ...base, model: "gpt-4o", tenant: "acme" }),
    1,
  );
  assert.equal(
    await value(on, "vulpes_requests_total", { ...base, model: "gpt-4o", tenant: "globex" }),
    1,
  );
  assert.equal(
    await value(on, "vulpes_requests_total", { ...base, model: "other", tenant: "other" }),
    2,
  );
  assert.equal(
    await value(on, "vulpes_requests_total", { ...base, model: "gpt-4o", tenant: "none" }),
    1,
  );
  assert.deepEqual(capped.sort(), ["model:1", "tenant:2"], "each cap is logged once");
});

Deno.test("per-request state is bounded: the oldest unfinished request is forgotten", () => {
  const m = metrics();
  for (let i = 0; i <= TRACKED_REQUESTS; i++) m.record(request("cache.hit", `r${i}`));
  assert.equal(m.trackedRequests, TRACKED_REQUESTS);
});

Deno.test("the dropped and queued counters read the queue's counters at each scrape", async () => {
  let stats = { queued: 3, processed: 0, dropped: 0, failed: 0 };
  const m = metrics({ queueStats: () => stats });
  assert.equal(await value(m, "vulpes_observer_dropped_events_total"), 0);
  stats = { ...stats, dropped: 7 };
  assert.equal(await value(m, "vulpes_observer_dropped_events_total"), 7);
  assert.equal(await value(m, "vulpes_observer_dropped_events_total"), 7);
  assert.equal(await value(m, "vulpes_observer_queued_events"), 3);
});

Deno.test("CappedLabel cuts long values, and statusClass() classes statuses", () => {
  const label = new CappedLabel(5);
  assert.equal(label.value("x".repeat(500)).length, 200);
  assert.deepEqual([200, 204, 301, 429, 503, 99, 600, undefined].map(statusClass), [
    "2xx",
    "2xx",
    "3xx",
    "4xx",
    "5xx",
    "unknown",
    "unknown",
    "unknown",
  ]);
});
