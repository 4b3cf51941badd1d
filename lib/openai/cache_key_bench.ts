/**
 * The cost of a cache key per request: {@linkcode cacheKey} (pick the fields, canonical JSON,
 * SHA-256 through WebCrypto, hex) on a small chat request and on one with a 100 KB
 * conversation, and {@linkcode canonicalJson} alone to tell canonicalizing from hashing.
 *
 * @module
 */

import { cacheKey, canonicalJson } from "./cache_key.ts";

const small = {
  model: "gpt-4o-mini",
  messages: [
    { role: "system", content: "You are the support assistant of Vulpes. Answer briefly." },
    { role: "user", content: "How do I rotate an API key?" },
  ],
  temperature: 0.2,
  stream: true,
  stream_options: { include_usage: true },
  metadata: { team: "core" },
};

/** A 40-turn conversation of about 100 KB, with tools, as agents send them. */
const large = {
  model: "gpt-4o",
  messages: Array.from({ length: 40 }, (_, i) => ({
    role: i % 2 === 0 ? "user" : "assistant",
    content: `Turn ${i}: ${"Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(44)}`,
  })),
  tools: Array.from({ length: 8 }, (_, i) => ({
    type: "function",
    function: {
      name: `tool_${i}`,
      description: "Look something up",
      parameters: { type: "object", properties: { q: { type: "string" } }, required: ["q"] },
    },
  })),
  temperature: 0,
  max_tokens: 1024,
};

const largeBytes = JSON.stringify(large).length;
if (largeBytes < 95_000 || largeBytes > 110_000) {
  throw new RangeError(`The large request is ${largeBytes} bytes, expected about 100 KB`);
}

Deno.bench("cacheKey() small chat request", { group: "cache key small" }, async () => {
  await cacheKey(small);
});

Deno.bench("canonicalJson() small chat request", { group: "cache key small" }, () => {
  canonicalJson(small);
});

Deno.bench("JSON.stringify() small chat request (reference)", { group: "cache key small" }, () => {
  JSON.stringify(small);
});

Deno.bench("cacheKey() 100 KB chat request", { group: "cache key 100 KB" }, async () => {
  await cacheKey(large);
});

Deno.bench("canonicalJson() 100 KB chat request", { group: "cache key 100 KB" }, () => {
  canonicalJson(large);
});

Deno.bench("JSON.stringify() 100 KB chat request (reference)", {
  group: "cache key 100 KB",
}, () => {
  JSON.stringify(large);
});
