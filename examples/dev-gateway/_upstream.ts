/**
 * The upstream call with fallbacks: routes are tried in order; an attempt that fails with a
 * 5xx (or no status), a timeout, an unavailable upstream or a rate limit moves on to the next
 * route, a 4xx does not. A route with `fallback_on` is tried only after a failure of one of
 * its kinds (`content_policy`: the upstream refused the content). The router gets feedback
 * after each attempt. A stream can fall back only until its first chunk: {@linkcode
 * startStream} resolves then.
 *
 * @module
 */

import type { Route, Usage } from "@vulpes/contract/capabilities";
import type { UpstreamProviderClient } from "@vulpes/contract/host";
import { PluginError } from "@vulpes/contract/protocol";
import type { ChatCompletionChunk } from "@vulpes/contract/openai";
import type { Bound } from "./_plugins.ts";
import type { Routing, StageContext } from "./_stages.ts";
import type { EventSink } from "./_observe.ts";

/** What an attempt needs besides its route. */
export interface AttemptContext {
  /** The stage context. */
  context: StageContext;
  /** The routes and their router. */
  routing: Routing;
  /** Observer events. */
  events: EventSink;
  /** Fields every event carries (request id, subject, tenant, model, traceparent). */
  eventBase: Record<string, unknown>;
}

/** Whether an upstream failure should move on to the next route. */
export function isRetryable(error: unknown): boolean {
  if (!(error instanceof PluginError)) return !(error instanceof DOMException);
  if (error.type === "upstream_error") {
    const status = error.data.status;
    return typeof status !== "number" || status >= 500;
  }
  return ["upstream_timeout", "unavailable", "rate_limited"].includes(error.type);
}

/**
 * The kind of a failure, as routes name it in `fallback_on` and feedback reports it:
 * `content_policy` when the upstream refused the content, else the plugin error type.
 */
export function errorTypeOf(error: unknown): string {
  if (error instanceof PluginError) {
    return error.data.code === "content_policy" ? "content_policy" : error.type;
  }
  return error instanceof DOMException ? error.name : "internal";
}

/**
 * Whether a route is tried after the attempts so far: a route with `fallback_on` only after a
 * failure of one of its kinds; any other route first, or after a failure worth another route.
 */
function eligible(route: Route, last: unknown, tried: boolean): boolean {
  if (route.fallback_on) return tried && route.fallback_on.includes(errorTypeOf(last));
  return !tried || isRetryable(last);
}

/** A router that answered only with `fallback_on` routes left nothing to try first. */
function noFirstRoute(attempt: AttemptContext): PluginError {
  return new PluginError(
    "unavailable",
    `Router "${attempt.routing.router.plugin.name}" returned no route to try first: every route has fallback_on`,
  );
}

type Outcome = "success" | "error" | "rate_limited" | "timeout";

function outcomeOf(error: unknown): Outcome {
  if (error instanceof PluginError) {
    if (error.type === "rate_limited") return "rate_limited";
    if (error.type === "upstream_timeout" || error.data.reason === "timeout") return "timeout";
  }
  return "error";
}

/**
 * Report an attempt: router feedback and an `upstream.attempt` event.
 *
 * @param attempt The attempt context.
 * @param route The route tried.
 * @param result Outcome, latency, time to first token, usage or error.
 */
export function reportAttempt(
  attempt: AttemptContext,
  route: Route,
  result: { error?: unknown; latencyMs: number; ttftMs?: number; usage?: Usage },
): void {
  const { error } = result;
  const outcome: Outcome = error === undefined ? "success" : outcomeOf(error);
  const data: Record<string, unknown> = error instanceof PluginError ? error.data : {};
  const status = typeof data.status === "number" ? data.status : undefined;
  const retry = typeof data.retry_after_ms === "number" ? data.retry_after_ms : undefined;
  const latency = Math.max(0, Math.round(result.latencyMs));
  try {
    attempt.routing.router.client.feedback({
      upstream: route.upstream,
      model: route.model,
      outcome,
      latency_ms: latency,
      ...(route.deployment ? { deployment: route.deployment } : {}),
      ...(status !== undefined ? { status } : {}),
      ...(result.ttftMs !== undefined ? { ttft_ms: Math.round(result.ttftMs) } : {}),
      ...(result.usage ? { usage: result.usage } : {}),
      ...(retry !== undefined ? { retry_after_ms: retry } : {}),
      ...(error !== undefined ? { error_type: errorTypeOf(error) } : {}),
    });
  } catch { /* feedback is best effort */ }
  attempt.events.emit(
    {
      ...attempt.eventBase,
      type: "upstream.attempt",
      route,
      latency_ms: latency,
      ...(result.ttftMs !== undefined ? { ttft_ms: Math.round(result.ttftMs) } : {}),
      ...(status !== undefined ? { status } : {}),
      ...(result.usage ? { usage: result.usage } : {}),
      ...(error !== undefined
        ? {
          error: {
            type: error instanceof PluginError ? error.type : "error",
            message: (error as Error).message ?? String(error),
          },
        }
        : {}),
    } as Parameters<EventSink["emit"]>[0],
  );
}

function upstreamOf(
  attempt: AttemptContext,
  route: Route,
): Bound<UpstreamProviderClient> {
  const upstream = attempt.context.plugins.upstreams.get(route.upstream);
  if (!upstream) {
    throw new PluginError(
      "unavailable",
      `The route names upstream "${route.upstream}", which is not an upstream_provider in gateway.yaml`,
    );
  }
  return upstream;
}

/**
 * Run a non-streaming call over the routes until one succeeds.
 *
 * @param attempt The attempt context.
 * @param call The call for one route.
 * @returns The answer and the route that gave it.
 * @throws The last attempt's error, when no route that the failures allow is left.
 */
export async function withFallbacks<T extends { response: Record<string, unknown> }>(
  attempt: AttemptContext,
  call: (upstream: Bound<UpstreamProviderClient>, route: Route) => Promise<T>,
): Promise<{ value: T; route: Route }> {
  let last: unknown;
  let tried = false;
  for (const route of attempt.routing.routes) {
    if (!eligible(route, last, tried)) continue;
    tried = true;
    const started = performance.now();
    try {
      const value = await call(upstreamOf(attempt, route), route);
      const usage = usageOf(value.response.usage);
      reportAttempt(attempt, route, {
        latencyMs: performance.now() - started,
        ...(usage ? { usage } : {}),
      });
      return { value, route };
    } catch (error) {
      if (attempt.context.signal.aborted) throw attempt.context.signal.reason;
      reportAttempt(attempt, route, { error, latencyMs: performance.now() - started });
      last = error;
    }
  }
  throw last ?? noFirstRoute(attempt);
}

/** A stream that has produced its first chunk (or ended without any). */
export interface StartedStream {
  /** The route serving it. */
  route: Route;
  /** When the attempt began (performance.now()). */
  startedAt: number;
  /** Time to the first chunk, if one came. */
  readonly ttftMs: number | undefined;
  /** Chunks received and not yet taken. */
  take(): ChatCompletionChunk[];
  /** Wait until more chunks are queued or the call has ended. */
  wait(): Promise<void>;
  /** Whether the call has ended. */
  readonly ended: boolean;
  /** The call's summary (rejects with its error). */
  result: Promise<{ usage?: Usage; finish_reason?: string }>;
}

/**
 * Start a streaming call, falling back over the routes until one produces its first chunk.
 *
 * @param attempt The attempt context.
 * @param request The request body for the upstream (model replaced per route).
 * @returns The started stream.
 * @throws The last attempt's error, when no route that the failures allow is left.
 */
export async function startStream(
  attempt: AttemptContext,
  request: Record<string, unknown>,
): Promise<StartedStream> {
  let last: unknown;
  let tried = false;
  for (const route of attempt.routing.routes) {
    if (!eligible(route, last, tried)) continue;
    tried = true;
    const startedAt = performance.now();
    try {
      const stream = openStream(attempt, upstreamOf(attempt, route), route, request, startedAt);
      await stream.wait();
      if (stream.ended && stream.peek() === 0) await stream.result; // failed before any chunk
      return stream;
    } catch (error) {
      if (attempt.context.signal.aborted) throw attempt.context.signal.reason;
      reportAttempt(attempt, route, { error, latencyMs: performance.now() - startedAt });
      last = error;
    }
  }
  throw last ?? noFirstRoute(attempt);
}

function openStream(
  attempt: AttemptContext,
  upstream: Bound<UpstreamProviderClient>,
  route: Route,
  request: Record<string, unknown>,
  startedAt: number,
): StartedStream & { peek(): number } {
  let queue: ChatCompletionChunk[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  let ttftMs: number | undefined;
  const result = upstream.client.chat(
    { route, request: { ...request, model: route.model, stream: true }, stream: true },
    {
      signal: attempt.context.signal,
      timeoutMs: upstream.plugin.timeoutMs,
      onChunk(chunk) {
        ttftMs ??= performance.now() - startedAt;
        queue.push(chunk as ChatCompletionChunk);
        wake?.();
      },
    },
  ) as Promise<{ usage?: Usage; finish_reason?: string }>;
  const end = () => {
    ended = true;
    wake?.();
  };
  result.then(end, end);
  return {
    route,
    startedAt,
    get ttftMs() {
      return ttftMs;
    },
    take() {
      const out = queue;
      queue = [];
      return out;
    },
    peek: () => queue.length,
    wait() {
      if (queue.length > 0 || ended) return Promise.resolve();
      return new Promise<void>((resolve) => {
        wake = () => {
          wake = undefined;
          resolve();
        };
      });
    },
    get ended() {
      return ended;
    },
    result,
  };
}

/**
 * Usage as the contract has it: three token counts (embeddings answers have no completion
 * tokens: 0), or undefined when the answer carries none.
 *
 * @param value The `usage` of an answer.
 * @returns The usage.
 */
export function usageOf(value: unknown): (Usage & { completion_tokens: number }) | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const usage = { completion_tokens: 0, ...value } as Record<string, unknown>;
  const ok = ["prompt_tokens", "completion_tokens", "total_tokens"].every((key) => {
    const n = usage[key];
    return typeof n === "number" && Number.isInteger(n) && n >= 0;
  });
  return ok ? usage as Usage & { completion_tokens: number } : undefined;
}
