/**
 * Cache keys for chat completion requests: a digest of every field that may change the
 * answer, so two requests that differ only in key order, whitespace, streaming or metadata
 * share an entry, and two that differ in anything else do not.
 *
 * @module
 */

/**
 * The request fields that never change the answer: delivery (`stream`, `stream_options`),
 * attribution and bookkeeping (`user`, `metadata`, `store`, `service_tier`,
 * `safety_identifier`, `prompt_cache_key`, `prompt_cache_retention`). Every other field is
 * part of the key, including those only some servers know (vLLM's `guided_json`, `top_k`,
 * `min_p`, `chat_template_kwargs`, …): upstream plugins forward them, so they may change
 * the answer.
 */
export const CACHE_KEY_IGNORED_FIELDS: readonly string[] = [
  "stream",
  "stream_options",
  "user",
  "metadata",
  "store",
  "service_tier",
  "safety_identifier",
  "prompt_cache_key",
  "prompt_cache_retention",
];

const IGNORED = new Set(CACHE_KEY_IGNORED_FIELDS);

/**
 * The cache key of a request: hex SHA-256 over the canonical JSON (object keys sorted, no
 * whitespace) of every field but those in {@linkcode CACHE_KEY_IGNORED_FIELDS}. Key order and
 * formatting never matter; `stream`, `stream_options`, `user` and `metadata` do not either.
 *
 * @param request The request body (chat completions or embeddings).
 * @returns 64 lowercase hex digits.
 *
 * @example Streaming and key order do not change the key
 * ```ts
 * import assert from "node:assert/strict";
 * import { cacheKey } from "./cache_key.ts";
 *
 * const a = await cacheKey({ model: "m", messages: [{ role: "user", content: "hi" }] });
 * const b = await cacheKey({
 *   messages: [{ content: "hi", role: "user" }],
 *   stream: true,
 *   model: "m",
 * });
 * assert.equal(a, b);
 * assert.match(a, /^[0-9a-f]{64}$/);
 * ```
 */
export async function cacheKey(request: Record<string, unknown>): Promise<string> {
  const picked: Record<string, unknown> = {};
  for (const field in request) {
    if (!IGNORED.has(field) && request[field] !== undefined) picked[field] = request[field];
  }
  // node:crypto hashes in the calling thread; WebCrypto's digest hands every call to a worker
  // thread and back, which cost more than the hash. Imported on first use, so processes that
  // never make a cache key do not load it.
  nodeCrypto ??= import("node:crypto");
  const { createHash } = await nodeCrypto;
  return createHash("sha256").update(canonicalJson(picked)).digest("hex");
}

let nodeCrypto: Promise<typeof import("node:crypto")> | undefined;

/**
 * JSON with object keys sorted and no whitespace; `undefined` members are left out as
 * `JSON.stringify` does.
 *
 * @param value Any JSON value.
 * @returns Its canonical text.
 *
 * @example Keys are sorted at every depth
 * ```ts
 * import assert from "node:assert/strict";
 * import { canonicalJson } from "./cache_key.ts";
 *
 * assert.equal(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: null } }),
 *   '{"a":{"c":null,"d":[2,{"e":0,"f":1}]},"b":1}');
 * ```
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map((item) => item === undefined ? "null" : canonicalJson(item)).join(",")}]`;
  }
  if (typeof value === "object" && value !== null) {
    const entries = Object.keys(value).sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) =>
        `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`
      );
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
