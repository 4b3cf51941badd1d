/**
 * The request pipeline of `/v1/chat/completions` and `/v1/embeddings` after authentication:
 * rate limit → prompt → cache → route → upstream (fallbacks) → respond (JSON or SSE) →
 * cache set, rate limit settle, observer events.
 *
 * Longer than 300 lines: the JSON and the streamed answer share the cache, settle and event
 * steps, which read best side by side.
 *
 * @module
 */

import type { ChatMessage, Identity, Usage } from "@vulpes/contract/capabilities";
import { cacheKey, errorBodyOf } from "@vulpes/contract/openai";
import type { ChatCompletion, ChatCompletionChunk } from "@vulpes/contract/openai";
import { PluginError } from "@vulpes/contract/protocol";
import { closedFailure, httpError, isPluginFailure, toHttpError } from "./_errors.ts";
import type { EventSink } from "./_observe.ts";
import { assembleCompletion, completionToChunks, createSseWriter } from "./_sse.ts";
import {
  acquireLimits,
  estimateTokens,
  isRecord,
  type Reservation,
  resolvePrompts,
  route,
  settleLimits,
  type StageContext,
} from "./_stages.ts";
import {
  type AttemptContext,
  reportAttempt,
  startStream,
  usageOf,
  withFallbacks,
} from "./_upstream.ts";

/** One API request that passed authentication. */
export interface ApiRequest {
  /** `chat` or `embeddings`. */
  kind: "chat" | "embeddings";
  /** The stage context. */
  context: StageContext;
  /** Aborts the request (the client left mid-stream). */
  abort(reason: unknown): void;
  /** Keeps the request alive (its timeout and signal) past the handler; returns the release. */
  hold(): () => void;
  /** Who asks. */
  identity: Identity;
  /** The parsed body. */
  body: Record<string, unknown>;
  /** Observer events. */
  events: EventSink;
  /** Whether events carry payloads. */
  capturePayloads: boolean;
  /** TTL for cache entries. */
  cacheTtlMs?: number;
  /** `cache-control: no-cache` skips the lookup, `no-store` also the store. */
  cache: { read: boolean; write: boolean };
  /** Fields every event of this request carries. */
  eventBase: Record<string, unknown>;
  /** performance.now() when the request arrived. */
  started: number;
}

/**
 * Run the pipeline.
 *
 * @param request The authenticated request.
 * @returns The response (errors are thrown, as HttpError or PluginError).
 */
export async function runPipeline(request: ApiRequest): Promise<Response> {
  const { context, identity, body } = request;
  const model = body.model as string;
  const estimated = estimateTokens(body);
  // The rate limit and the prompt + cache lookup do not depend on each other: both go out
  // at once. A refusal still wins over anything the lookup finds or fails with.
  const limits = acquireLimits(context, identity, model, estimated);
  const prepared = prepare(request);
  // The lookup may fail while the limit is still deciding: handled now, its error is thrown
  // by the `await prepared` below (an unhandled rejection would end the gateway's process).
  prepared.catch(() => {});
  const reservations = await limits;
  try {
    return await afterLimits(request, reservations, estimated, await prepared);
  } catch (error) {
    settleLimits(context, reservations, 0);
    throw error;
  }
}

/** The request as the upstream will get it, and what the cache holds for it. */
interface Prepared {
  body: Record<string, unknown>;
  tags: string[] | undefined;
  stream: boolean;
  cache: { key?: string; hit?: Record<string, unknown> };
}

/** Resolve prompts, take out routing tags, and look the result up in the cache. */
async function prepare(request: ApiRequest): Promise<Prepared> {
  const { context, identity, kind } = request;
  let body = request.body;
  const model = body.model as string;
  if (kind === "chat" && body.prompt !== undefined && context.plugins.prompts.length === 0) {
    // Nothing could resolve the reference, and no upstream would understand it.
    throw httpError(
      400,
      'The request selects a prompt ("prompt"), but this gateway has no prompt provider',
      "invalid_request_error",
      "no_prompt_provider",
    );
  }
  if (kind === "chat" && context.plugins.prompts.length > 0) {
    const messages = await resolvePrompts(
      context,
      identity,
      model,
      body.messages as ChatMessage[],
      body.prompt,
    );
    const { prompt: _prompt, ...rest } = body;
    body = { ...rest, messages };
  }
  const tags = tagsOf(body);
  if ("tags" in body) {
    // Routing input, not an upstream parameter (LiteLLM's request tags).
    const { tags: _tags, ...rest } = body;
    body = rest;
  }
  const stream = kind === "chat" && body.stream === true;
  return { body, tags, stream, cache: await lookup(request, body) };
}

async function afterLimits(
  request: ApiRequest,
  reservations: Reservation[],
  estimated: number,
  prepared: Prepared,
): Promise<Response> {
  const { context, identity, kind } = request;
  const { body, tags, stream, cache } = prepared;
  const model = body.model as string;
  if (cache.hit) {
    settleLimits(context, reservations, 0);
    return respondFromCache(request, body, cache.hit);
  }
  const routing = await route(context, identity, {
    model,
    stream,
    estimatedTokens: estimated,
    ...(tags ? { tags } : {}),
  });
  const attempt: AttemptContext = {
    context,
    routing,
    events: request.events,
    eventBase: request.eventBase,
  };
  context.headers.set("x-vulpes-cache", "miss");
  if (stream) return await respondStream(request, attempt, body, reservations, cache.key);
  const { value, route: used } = await withFallbacks(attempt, (upstream, route) => {
    const upstreamBody = { ...body, model: route.model };
    const options = { signal: context.signal, timeoutMs: upstream.plugin.timeoutMs };
    if (kind === "embeddings") {
      return upstream.client.embeddings({ route, request: upstreamBody }, options);
    }
    return upstream.client.chat(
      { route, request: { ...upstreamBody, stream: false }, stream: false },
      options,
    ) as Promise<{ response: Record<string, unknown> }>;
  });
  const response = value.response;
  const usage = usageOf(response.usage);
  settleLimits(context, reservations, usage?.total_tokens ?? estimated);
  if (cache.key && request.cache.write && isComplete(kind, response)) {
    store(request, cache.key, response);
  }
  completed(request, body, response, { route: used, ...(usage ? { usage } : {}) });
  context.headers.set("x-vulpes-upstream", used.upstream);
  return json(response, context.headers);
}

async function lookup(
  request: ApiRequest,
  body: Record<string, unknown>,
): Promise<{ key?: string; hit?: Record<string, unknown> }> {
  const cache = request.context.plugins.caches[0];
  if (!cache) return {};
  const key = await cacheKey(body);
  if (!request.cache.read) return { key };
  const { plugin, client } = cache;
  try {
    const answer = await client.get(
      { namespace: cacheNamespace(request.identity), key },
      { signal: request.context.signal, timeoutMs: plugin.timeoutMs },
    );
    if (answer.hit && isRecord(answer.value) && isComplete(request.kind, answer.value)) {
      return { key, hit: answer.value };
    }
  } catch (error) {
    if (request.context.signal.aborted) throw request.context.signal.reason;
    if (isPluginFailure(error) && plugin.failMode === "closed") {
      throw closedFailure(plugin.name, "read the cache", error);
    }
    request.context.log.warn("cache lookup failed; treated as a miss", {
      plugin: plugin.name,
      request_id: request.context.requestId,
      error: (error as Error).message,
    });
  }
  return { key };
}

function store(request: ApiRequest, key: string, value: Record<string, unknown>): void {
  const cache = request.context.plugins.caches[0];
  if (!cache) return;
  // Nobody waits for a store: it may go out with the cache's next message.
  cache.client.set({
    namespace: cacheNamespace(request.identity),
    key,
    value,
    ...(request.cacheTtlMs ? { ttl_ms: request.cacheTtlMs } : {}),
  }, { timeoutMs: cache.plugin.timeoutMs, defer: true }).catch((error) =>
    request.context.log.warn("cannot store a cache entry", {
      plugin: cache.plugin.name,
      request_id: request.context.requestId,
      error: (error as Error).message,
    })
  );
}

/**
 * The cache namespace of a caller: `tenant:<tenant>`, or `no-tenant` for a caller without
 * one. Any non-empty string is a valid tenant, so only the prefix keeps the callers without a
 * tenant apart from a tenant named after their namespace (e.g. one called "default").
 *
 * @param identity Who asks.
 * @returns The namespace of cache.get and cache.set.
 */
export function cacheNamespace(identity: Pick<Identity, "tenant">): string {
  return identity.tenant ? `tenant:${identity.tenant}` : "no-tenant";
}

/** Only whole answers are cached: every choice finished, or an embeddings list. */
function isComplete(kind: ApiRequest["kind"], value: Record<string, unknown>): boolean {
  if (kind === "embeddings") return Array.isArray(value.data);
  const choices = value.choices;
  return Array.isArray(choices) && choices.length > 0 &&
    choices.every((c) => isRecord(c) && typeof c.finish_reason === "string");
}

function respondFromCache(
  request: ApiRequest,
  body: Record<string, unknown>,
  value: Record<string, unknown>,
): Response {
  const { context } = request;
  context.headers.set("x-vulpes-cache", "hit");
  request.events.emit({ ...request.eventBase, type: "cache.hit" } as never);
  completed(request, body, value, {});
  if (request.kind === "chat" && body.stream === true) {
    const writer = createSseWriter();
    const includeUsage = wantsUsage(body);
    for (const chunk of completionToChunks(value as ChatCompletion, includeUsage)) {
      writer.send(chunk);
    }
    writer.done();
    return sse(writer.body, context.headers);
  }
  return json(value, context.headers);
}

async function respondStream(
  request: ApiRequest,
  attempt: AttemptContext,
  body: Record<string, unknown>,
  reservations: Reservation[],
  key: string | undefined,
): Promise<Response> {
  const { context } = request;
  const stream = await startStream(attempt, body);
  const includeUsage = wantsUsage(body);
  const writer = createSseWriter();
  writer.cancelled.then(() => request.abort(new DOMException("The client left", "AbortError")));
  context.headers.set("x-vulpes-upstream", stream.route.upstream);
  const release = request.hold();
  (async function pump() {
    const received: ChatCompletionChunk[] = [];
    let sentUsage = false;
    try {
      while (true) {
        for (const chunk of stream.take()) {
          received.push(chunk);
          const out = forClient(chunk, includeUsage);
          if (out && out.usage && out.choices.length === 0) sentUsage = true;
          if (out) writer.send(out);
        }
        if (stream.ended) break;
        await stream.wait();
      }
      for (const chunk of stream.take()) received.push(chunk);
      const summary = await stream.result;
      const completion = assembleCompletion(received, usageOf(summary.usage));
      const usage = usageOf(completion.usage);
      if (includeUsage && !sentUsage && usage) {
        writer.send({ ...chunkBase(completion), choices: [], usage });
      }
      writer.done();
      reportAttempt(attempt, stream.route, {
        latencyMs: performance.now() - stream.startedAt,
        ...(stream.ttftMs !== undefined ? { ttftMs: stream.ttftMs } : {}),
        ...(usage ? { usage } : {}),
      });
      settleLimits(context, reservations, usage?.total_tokens ?? estimateTokens(body));
      if (key && request.cache.write && isComplete("chat", completion)) {
        store(request, key, completion);
      }
      completed(request, body, completion, {
        route: stream.route,
        ...(usage ? { usage } : {}),
        ...(stream.ttftMs !== undefined ? { ttftMs: stream.ttftMs } : {}),
      });
    } catch (error) {
      const failure = context.signal.aborted ? context.signal.reason : error;
      const http = toHttpError(failure);
      writer.send(http.body);
      writer.close();
      reportAttempt(attempt, stream.route, {
        error: failure,
        latencyMs: performance.now() - stream.startedAt,
      });
      settleLimits(context, reservations, estimateTokens(body));
      failed(request, http.status, failure);
    } finally {
      release();
    }
  })();
  return sse(writer.body, context.headers);
}

function forClient(
  chunk: ChatCompletionChunk,
  includeUsage: boolean,
): ChatCompletionChunk | null {
  if (includeUsage) return chunk;
  if (Array.isArray(chunk.choices) && chunk.choices.length === 0 && chunk.usage) return null;
  if (!("usage" in chunk)) return chunk;
  const { usage: _usage, ...rest } = chunk;
  return rest as ChatCompletionChunk;
}

function chunkBase(completion: ChatCompletion) {
  return {
    id: completion.id,
    object: "chat.completion.chunk",
    created: completion.created,
    model: completion.model,
  };
}

function wantsUsage(body: Record<string, unknown>): boolean {
  return isRecord(body.stream_options) && body.stream_options.include_usage === true;
}

function completed(
  request: ApiRequest,
  body: Record<string, unknown>,
  response: Record<string, unknown>,
  details: { route?: AttemptContext["routing"]["routes"][number]; usage?: Usage; ttftMs?: number },
): void {
  request.events.emit({
    ...request.eventBase,
    type: "request.completed",
    status: 200,
    latency_ms: Math.round(performance.now() - request.started),
    ...(details.route ? { route: details.route } : {}),
    ...(details.usage ? { usage: details.usage } : {}),
    ...(details.ttftMs !== undefined ? { ttft_ms: Math.round(details.ttftMs) } : {}),
    ...(request.capturePayloads ? { payload: { request: body, response } } : {}),
  } as never);
}

/**
 * Emit `request.failed` for a request that failed after authentication.
 *
 * @param request The request.
 * @param status The status answered.
 * @param error The error.
 */
export function failed(request: ApiRequest, status: number, error: unknown): void {
  const body = error instanceof PluginError ? errorBodyOf(error) : toHttpError(error).body;
  request.events.emit({
    ...request.eventBase,
    type: "request.failed",
    status,
    latency_ms: Math.round(performance.now() - request.started),
    error: { type: body.error.type, message: body.error.message },
  } as never);
}

/**
 * A JSON response.
 *
 * @param value The body.
 * @param headers Headers to send.
 * @param status The status.
 * @returns The response.
 */
export function json(value: unknown, headers: Headers, status = 200): Response {
  headers.set("content-type", "application/json");
  return new Response(JSON.stringify(value), { status, headers });
}

function sse(body: ReadableStream<Uint8Array>, headers: Headers): Response {
  headers.set("content-type", "text/event-stream; charset=utf-8");
  headers.set("cache-control", "no-cache");
  return new Response(body, { status: 200, headers });
}

/** The request's routing tags (`"tags": ["…"]` in the body), or undefined. */
function tagsOf(body: Record<string, unknown>): string[] | undefined {
  const tags = body.tags;
  if (tags === undefined) return undefined;
  if (!Array.isArray(tags) || !tags.every((tag) => typeof tag === "string" && tag !== "")) {
    throw httpError(
      400,
      '"tags" must be an array of non-empty strings',
      "invalid_request_error",
      "invalid_tags",
    );
  }
  return tags;
}
