import assert from "node:assert/strict";
import { eventShaper, REDACTED } from "./_shape.ts";
import { DEFAULT_REDACT_KEYS } from "./config.ts";

const EVENT = {
  type: "request.completed",
  time: "2026-01-01T00:00:00.000Z",
  request_id: "req-1",
  tenant: "acme",
  subject: "alice",
  model: "gpt-4o",
  route: { upstream: "openai", model: "gpt-4o", options: { api_key: "sk-live", region: "eu" } },
  status: 200,
  latency_ms: 812,
  usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
  payload: {
    request: { model: "gpt-4o", messages: [{ role: "user", content: "hi" }] },
    response: { id: "c1", headers: { Authorization: "Bearer sk-x" } },
  },
};

function shaper(overrides: Partial<Parameters<typeof eventShaper>[0]> = {}) {
  return eventShaper({
    includePayloads: false,
    deny: [],
    redactKeys: [],
    maxChars: 60_000,
    ...overrides,
  });
}

Deno.test("eventShaper() strips payloads unless includePayloads is on", () => {
  assert.equal(shaper()(EVENT).event.payload, undefined);
  assert.deepEqual(
    shaper({ includePayloads: true })(EVENT).event.payload,
    EVENT.payload,
  );
});

Deno.test("eventShaper() never changes the event it is given", () => {
  const copy = structuredClone(EVENT);
  shaper({ redactKeys: DEFAULT_REDACT_KEYS, deny: ["route.model"] })(EVENT);
  assert.deepEqual(EVENT, copy);
});

Deno.test("eventShaper() keeps only allowed fields and dotted paths, and always type", () => {
  const { event } = shaper({
    includePayloads: true,
    allow: ["request_id", "usage.total_tokens", "payload.request", "missing.field"],
  })(EVENT);
  assert.deepEqual(event, {
    type: "request.completed",
    request_id: "req-1",
    usage: { total_tokens: 15 },
    payload: { request: EVENT.payload.request },
  });
});

Deno.test("eventShaper() removes denied fields and dotted paths after the allowlist", () => {
  const { event } = shaper({
    includePayloads: true,
    allow: ["request_id", "route", "payload"],
    deny: ["route.options", "payload.response", "tenant", "status.nested"],
  })(EVENT);
  assert.deepEqual(event, {
    type: "request.completed",
    request_id: "req-1",
    route: { upstream: "openai", model: "gpt-4o" },
    payload: { request: EVENT.payload.request },
  });
});

Deno.test("eventShaper() redacts secret-looking keys at any depth, in any case, and nothing else", () => {
  const { event } = shaper({ includePayloads: true, redactKeys: DEFAULT_REDACT_KEYS })({
    ...EVENT,
    extra: [{ Cookie: "session=1" }, { password: { nested: true } }],
  });
  const text = JSON.stringify(event);
  for (const secret of ["sk-live", "sk-x", "session=1", "nested"]) {
    assert.ok(!text.includes(secret), secret);
  }
  const route = event.route as { options: Record<string, unknown> };
  assert.deepEqual(route.options, { api_key: REDACTED, region: "eu" });
  assert.deepEqual(event.usage, EVENT.usage, "total_tokens is not a token");
  assert.deepEqual(event.extra, [{ Cookie: REDACTED }, { password: REDACTED }]);
});

Deno.test("eventShaper() truncates the payload first, then the largest fields, to fit", () => {
  const big = "x".repeat(5000);
  const withPayload = shaper({ includePayloads: true, maxChars: 1000 })({
    ...EVENT,
    payload: { request: { content: big }, response: { content: big } },
  });
  assert.equal(withPayload.truncated, true);
  assert.deepEqual(withPayload.event.payload, {
    request: "[truncated: 5014 chars]",
    response: "[truncated: 5014 chars]",
  });
  assert.equal(withPayload.event.tenant, "acme", "small fields stay");
  assert.ok(JSON.stringify(withPayload.event).length <= 1000);

  const hugeError = shaper({ maxChars: 1000 })({
    ...EVENT,
    error: { type: "upstream_error", message: big },
  });
  assert.equal(hugeError.truncated, true);
  assert.match(String(hugeError.event.error), /^\[truncated: \d+ chars\]$/);
  assert.equal(hugeError.event.request_id, "req-1");
  assert.ok(JSON.stringify(hugeError.event).length <= 1000);

  assert.equal(shaper({ maxChars: 1000 })(EVENT).truncated, false);
});
