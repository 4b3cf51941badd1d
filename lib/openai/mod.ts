/**
 * OpenAI wire shapes, server-sent events, and the mapping of plugin errors to OpenAI-style
 * HTTP answers.
 *
 * @example Parse a streamed body
 * ```ts
 * import assert from "node:assert/strict";
 * import { readSse } from "@vulpes/contract/openai";
 *
 * const body = ReadableStream.from([new TextEncoder().encode("data: {}\n\ndata: [DONE]\n\n")]);
 * const events = await Array.fromAsync(readSse(body));
 * assert.equal(events.length, 2);
 * ```
 *
 * @module
 */

export { encodeSse, readSse, type ReadSseOptions, type SseEvent, SseParser } from "./sse.ts";
export { CACHE_KEY_IGNORED_FIELDS, cacheKey, canonicalJson } from "./cache_key.ts";
export { errorBody, errorBodyOf, statusOf } from "./errors.ts";
export type {
  ChatCompletion,
  ChatCompletionChoice,
  ChatCompletionChunk,
  ChatCompletionChunkDelta,
  ChatCompletionMessage,
  ChatCompletionRequest,
  ChatToolCall,
  CompletionUsage,
  OpenAIErrorBody,
} from "./types.ts";
export {
  CallCounter,
  type CallCounts,
  openUpstreamCall,
  safeOrigin,
  UpstreamCall,
  type UpstreamCallOptions,
  type UpstreamTimeouts,
  type UpstreamTimeoutsConfig,
} from "./upstream.ts";
export { retryAfterMs, upstreamError, upstreamMessage } from "./upstream_errors.ts";
export { upstreamBaseUrl, type UpstreamConnection, upstreamHeaders } from "./connection.ts";
