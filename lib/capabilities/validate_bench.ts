/**
 * What validating a call costs: every call is parsed by the host's typed client (params, then
 * the result) and again by the plugin's runtime (params), each a zod `safeParse` through
 * {@linkcode parseParams} or {@linkcode check}. Small calls (`router.route`,
 * `authn.authenticate`), large ones (`upstream.chat` with a 100 KB conversation,
 * `prompt.resolve` of the same 40 messages, a 100-event `observer.emit` batch, a 4 KB
 * `cache.set`), each beside `JSON.parse` of its JSON text, which the framing pays anyway.
 *
 * @module
 */

import { METHODS } from "./methods.ts";
import { check, parseParams } from "./validate.ts";

function bench(method: string, params: unknown, result?: unknown): void {
  const spec = METHODS[method]!;
  const group = method;
  const text = JSON.stringify(params);
  const size = text.length > 10_000 ? `${Math.round(text.length / 1000)} KB` : `${text.length} B`;
  Deno.bench(`parseParams() ${method} params (${size})`, { group }, () => {
    parseParams(method, spec.params, params);
  });
  if (result !== undefined) {
    Deno.bench(`check() ${method} result`, { group }, () => {
      check(spec.result!, result);
    });
  }
  Deno.bench(`JSON.parse() of the ${method} params (reference)`, { group }, () => {
    JSON.parse(text);
  });
}

const route = { upstream: "openai", model: "gpt-4o-mini", deployment: "openai/gpt-4o-mini" };
bench("router.route", {
  model: "gpt-4o-mini",
  identity: { tenant: "acme", groups: ["eng", "eu"] },
  request: { stream: false, estimated_tokens: 120, tags: ["batch"] },
}, { routes: [route, { ...route, upstream: "azure", deployment: "azure/gpt-4o-mini" }] });

bench("authn.authenticate", {
  credentials: { authorization: "Bearer sk-vulpes-0123456789abcdef0123456789abcdef" },
  request: { method: "POST", path: "/v1/chat/completions", model: "gpt-4o", client_ip: "10.0.0.7" },
}, {
  decision: "allow",
  identity: { subject: "alice", tenant: "acme", groups: ["eng"], key_id: "k1" },
});

/** 40 turns of about 2.5 KB: a 100 KB conversation. */
const messages = Array.from({ length: 40 }, (_, i) => ({
  role: i % 2 === 0 ? "user" : "assistant",
  content: `Turn ${i}: ${"Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(44)}`,
}));
const completion = {
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1767225600,
  model: "gpt-4o",
  choices: [{
    index: 0,
    message: { role: "assistant", content: "x".repeat(4000) },
    finish_reason: "stop",
  }],
  usage: { prompt_tokens: 25_000, completion_tokens: 1000, total_tokens: 26_000 },
};
bench("upstream.chat", {
  route,
  request: { model: "gpt-4o", messages, temperature: 0 },
  stream: false,
}, { response: completion });

bench("prompt.resolve", {
  identity: { subject: "alice", tenant: "acme", groups: ["eng"] },
  model: "gpt-4o",
  messages,
}, { messages, applied: [{ id: "house-style", version: "1" }] });

bench("cache.set", {
  namespace: "acme",
  key: "0".repeat(64),
  value: completion,
  ttl_ms: 300_000,
}, { stored: true });

bench("observer.emit", {
  events: Array.from({ length: 50 }, (_, i) => {
    const base = {
      time: "2026-03-01T12:00:00.000Z",
      request_id: `req-${i}`,
      tenant: "acme",
      subject: "alice",
      model: "gpt-4o-mini",
      route,
      usage: { prompt_tokens: 42, completion_tokens: 17, total_tokens: 59 },
    };
    return [
      { ...base, type: "upstream.attempt", status: 200, latency_ms: 180 },
      { ...base, type: "request.completed", status: 200, latency_ms: 190 },
    ];
  }).flat(),
});
