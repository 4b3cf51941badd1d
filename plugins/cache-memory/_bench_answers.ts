/**
 * The cached answers of the cache benchmarks (cache-memory's and cache-redis'): chat
 * completions of about 0.9 KB of JSON, one per key, as the core would cache them.
 *
 * @module
 */

/** A chat completion of about 1 KB, as the core would cache it. */
export function completion(index: number): Record<string, unknown> {
  return {
    id: `chatcmpl-${index.toString(36).padStart(12, "0")}`,
    object: "chat.completion",
    created: 1767225600,
    model: "gpt-4o-2024-08-06",
    system_fingerprint: "fp_0123456789",
    choices: [{
      index: 0,
      message: {
        role: "assistant",
        content: "A least-recently-used cache keeps the entries that were used most recently " +
          "and drops the one that has gone longest without use when it runs out of room. " +
          "It suits answers to repeated prompts: the same question asked again is answered " +
          "from memory instead of by the model, which saves both time and tokens. Entries " +
          "also expire after their time to live, so a stale answer is not served forever, " +
          "and each tenant has its own namespace, so one tenant never sees another's cached " +
          "answers. Sizes are bounded by an entry count and a byte count. " +
          `(answer ${index})`,
        refusal: null,
      },
      logprobs: null,
      finish_reason: "stop",
    }],
    usage: { prompt_tokens: 42, completion_tokens: 118, total_tokens: 160 },
  };
}

/** How many keys the benchmarks use. */
export const KEYS = 1000;
/** The keys: 64 hex characters, like cache keys. */
export const keys: string[] = Array.from(
  { length: KEYS },
  (_, i) => i.toString(16).padStart(64, "0"),
);
/** One answer per key. */
export const values: Record<string, unknown>[] = keys.map((_, i) => completion(i));
