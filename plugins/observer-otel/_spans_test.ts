import assert from "node:assert/strict";
import type { ObserverEvent } from "@vulpes/contract/capabilities";
import {
  childSpan,
  parseTraceParent,
  requestSpan,
  type SpanOptions,
  traceRefOf,
} from "./_spans.ts";

const OPTIONS: SpanOptions = {
  providerNames: { azure: "azure.ai.openai" },
  legacySystem: true,
  sampling: "parent",
  now: () => 0,
};

const completed: ObserverEvent = {
  type: "request.completed",
  time: "2026-01-01T00:00:01.000Z",
  request_id: "r1",
  model: "gpt-4o",
  route: { upstream: "azure", model: "gpt-4o-prod" },
  status: 200,
  latency_ms: 1000,
  usage: {
    prompt_tokens: 10,
    completion_tokens: 20,
    total_tokens: 30,
    prompt_tokens_details: { cached_tokens: 4 },
    completion_tokens_details: { reasoning_tokens: 7 },
  },
  payload: {
    response: {
      id: "chatcmpl-1",
      model: "gpt-4o-2024-08-06",
      choices: [{ finish_reason: "length" }],
    },
  },
};

Deno.test("parseTraceParent reads valid W3C values and refuses the rest", () => {
  assert.deepEqual(parseTraceParent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), {
    traceId: "0af7651916cd43dd8448eb211c80319c",
    spanId: "b7ad6b7169203331",
    sampled: true,
  });
  assert.equal(
    parseTraceParent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00")?.sampled,
    false,
  );
  for (
    const bad of [
      undefined,
      "",
      "00-00000000000000000000000000000000-b7ad6b7169203331-01",
      "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
      "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
      "00-0af7651916cd43dd8448eb211c8031-b7ad6b7169203331-01",
    ]
  ) assert.equal(parseTraceParent(bad), undefined, String(bad));
  // A later version may carry more fields.
  assert.ok(parseTraceParent("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what"));
});

Deno.test("requestSpan maps a completed request to GenAI attributes, with times from latency", () => {
  const plan = requestSpan(completed, OPTIONS);
  assert.equal(plan.name, "chat gpt-4o");
  assert.equal(plan.kind, "server");
  assert.equal(plan.endMs - plan.startMs, 1000);
  assert.equal(plan.parent, undefined);
  assert.equal(plan.error, undefined);
  assert.equal(plan.attributes["gen_ai.provider.name"], "azure.ai.openai");
  assert.equal(plan.attributes["gen_ai.system"], "azure.ai.openai");
  assert.equal(plan.attributes["gen_ai.response.model"], "gpt-4o-2024-08-06");
  assert.equal(plan.attributes["gen_ai.response.id"], "chatcmpl-1");
  assert.deepEqual(plan.attributes["gen_ai.response.finish_reasons"], ["length"]);
  assert.equal(plan.attributes["gen_ai.usage.cache_read.input_tokens"], 4);
  assert.equal(plan.attributes["gen_ai.usage.reasoning.output_tokens"], 7);
});

Deno.test("span ids of a request are derived from its request id, so children find them", () => {
  const ref = traceRefOf(completed, "parent");
  assert.match(ref.traceId, /^[0-9a-f]{32}$/);
  assert.match(ref.spanId, /^[0-9a-f]{16}$/);
  assert.equal(requestSpan(completed, OPTIONS).spanId, ref.spanId);
  const attempt: ObserverEvent = { ...completed, type: "upstream.attempt", payload: {} };
  const orphan = childSpan(attempt, traceRefOf(attempt, "parent"), OPTIONS);
  assert.equal(orphan.parent?.spanId, ref.spanId);
  assert.equal(orphan.traceId, ref.traceId);
  assert.equal(orphan.kind, "client");
  assert.equal(orphan.name, "chat gpt-4o-prod");
});

Deno.test("an unsampled client traceparent is followed unless sampling is always", () => {
  const event = {
    ...completed,
    traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
  };
  assert.equal(traceRefOf(event, "parent").sampled, false);
  assert.equal(traceRefOf(event, "always").sampled, true);
  assert.deepEqual(requestSpan(event, OPTIONS).parent, {
    spanId: "b7ad6b7169203331",
    sampled: false,
    remote: true,
  });
});

Deno.test("failures carry error.type and an error status; rejections only error.type", () => {
  const failed = requestSpan({
    ...completed,
    type: "request.failed",
    status: 502,
    error: { type: "upstream_error", message: "bad gateway" },
  }, OPTIONS);
  assert.equal(failed.attributes["error.type"], "upstream_error");
  assert.equal(failed.error, "bad gateway");
  const rejected = requestSpan({ ...completed, type: "request.rejected", status: 401 }, OPTIONS);
  assert.equal(rejected.attributes["error.type"], "401");
  assert.equal(rejected.error, undefined);
  const attempt = childSpan(
    { ...completed, type: "upstream.attempt", status: 429 },
    traceRefOf(completed, "parent"),
    OPTIONS,
  );
  assert.equal(attempt.attributes["error.type"], "429");
  assert.equal(attempt.error, "status 429");
  const hit = childSpan(
    { ...completed, type: "cache.hit" },
    traceRefOf(completed, "parent"),
    OPTIONS,
  );
  assert.equal(hit.name, "cache.hit");
  assert.equal(hit.kind, "internal");
});
