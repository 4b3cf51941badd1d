import assert from "node:assert/strict";
import { cacheKey, canonicalJson } from "./cache_key.ts";

const base = {
  model: "gpt-4o-mini",
  messages: [{ role: "user", content: "Say hi" }],
  temperature: 0.2,
};

Deno.test("cacheKey() ignores key order and whitespace", async () => {
  const reordered = JSON.parse(
    '{ "temperature": 0.2,\n "messages": [ {"content":"Say hi", "role":"user"} ], "model":"gpt-4o-mini" }',
  );
  assert.equal(await cacheKey(base), await cacheKey(reordered));
});

Deno.test("cacheKey() ignores stream, stream_options, user, metadata and other bookkeeping", async () => {
  const noisy = {
    ...base,
    stream: true,
    stream_options: { include_usage: true },
    user: "u-1",
    metadata: { trace: "x" },
    store: false,
    service_tier: "auto",
    safety_identifier: "s-1",
    prompt_cache_key: "k",
  };
  assert.equal(await cacheKey(base), await cacheKey(noisy));
});

Deno.test("cacheKey() changes with fields only some servers know, which upstreams forward", async () => {
  const key = await cacheKey(base);
  for (
    const extra of [
      { guided_choice: ["yes", "no"] },
      { guided_json: { type: "object" } },
      { top_k: 5 },
      { min_p: 0.1 },
      { repetition_penalty: 1.2 },
      { chat_template_kwargs: { enable_thinking: false } },
    ]
  ) {
    assert.notEqual(await cacheKey({ ...base, ...extra }), key, JSON.stringify(extra));
  }
});

Deno.test("cacheKey() changes with every field that changes the answer", async () => {
  const key = await cacheKey(base);
  const variants: Record<string, unknown>[] = [
    { ...base, model: "gpt-4o" },
    { ...base, messages: [{ role: "user", content: "Say bye" }] },
    { ...base, temperature: 0.3 },
    { ...base, seed: 1 },
    { ...base, max_tokens: 5 },
    { ...base, max_completion_tokens: 5 },
    { ...base, tools: [{ type: "function", function: { name: "f" } }] },
    { ...base, tool_choice: "none" },
    { ...base, response_format: { type: "json_object" } },
    { ...base, top_p: 0.5 },
    { ...base, n: 2 },
    { ...base, stop: ["x"] },
    { ...base, presence_penalty: 1 },
    { ...base, frequency_penalty: 1 },
    { ...base, logit_bias: { "1": 2 } },
    { ...base, logprobs: true },
    { ...base, top_logprobs: 2 },
    { ...base, parallel_tool_calls: false },
    { ...base, reasoning_effort: "low" },
  ];
  const keys = new Set([key]);
  for (const variant of variants) keys.add(await cacheKey(variant));
  assert.equal(keys.size, variants.length + 1);
});

Deno.test("cacheKey() is the hex SHA-256 of the canonical JSON", async () => {
  const expected = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(
      '{"messages":[{"content":"Say hi","role":"user"}],"model":"gpt-4o-mini","temperature":0.2}',
    ),
  );
  const hex = Array.from(new Uint8Array(expected), (b) => b.toString(16).padStart(2, "0")).join("");
  assert.equal(await cacheKey(base), hex);
});

Deno.test("canonicalJson() writes undefined array items as null and drops undefined members", () => {
  assert.equal(canonicalJson({ a: undefined, b: [undefined, 1] }), '{"b":[null,1]}');
});
