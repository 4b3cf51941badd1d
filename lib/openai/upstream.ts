/**
 * What every upstream plugin needs to call an OpenAI-style HTTP API well: timeouts for the
 * first byte, between stream events and in total; cancellation; and the mapping of HTTP
 * failures and retry hints to plugin errors.
 *
 * @module
 */

import { PluginError } from "../protocol/errors.ts";
import { type SseEvent, SseParser } from "./sse.ts";

/** Timeouts of one upstream call, in milliseconds. */
export interface UpstreamTimeouts {
  /** Until the response headers arrive (connect and first byte). */
  firstByteMs: number;
  /** Between two reads of a streamed body. */
  idleMs: number;
  /** For the whole call, body included. */
  totalMs: number;
}

/** Options of {@linkcode UpstreamCall}. */
export interface UpstreamCallOptions {
  /** The timeouts. */
  timeouts: UpstreamTimeouts;
  /** The caller's cancellation (the core's `$/cancel`). */
  signal?: AbortSignal;
  /**
   * The fetch to use.
   *
   * @default {globalThis.fetch}
   */
  fetch?: typeof fetch;
  /**
   * The clock, for HTTP-date retry hints.
   *
   * @default {Date.now}
   */
  now?: () => number;
}

/**
 * One HTTP call to an upstream, with its timeouts and cancellation wired into one abort
 * signal, so a `$/cancel` or a timeout stops the request and the body at once.
 *
 * @example Call a server and read its JSON
 * ```ts
 * import assert from "node:assert/strict";
 * import { UpstreamCall } from "./upstream.ts";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => Response.json({ ok: true }));
 * const call = new UpstreamCall({ timeouts: { firstByteMs: 1000, idleMs: 1000, totalMs: 2000 } });
 * try {
 *   const response = await call.fetch(`http://127.0.0.1:${server.addr.port}/`, { method: "GET" });
 *   assert.deepEqual(await call.json(response), { ok: true });
 * } finally {
 *   call.dispose();
 *   await server.shutdown();
 * }
 * ```
 */
export class UpstreamCall {
  #options: UpstreamCallOptions;
  #controller = new AbortController();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #why: "first_byte" | "idle" | "total" | null = null;
  #onAbort: () => void;

  /**
   * Start the clock of a call.
   *
   * @param options Timeouts, signal, fetch and clock.
   */
  constructor(options: UpstreamCallOptions) {
    this.#options = options;
    this.#onAbort = () => this.#controller.abort(options.signal?.reason);
    if (options.signal?.aborted) this.#onAbort();
    options.signal?.addEventListener("abort", this.#onAbort, { once: true });
    this.#timer = setTimeout(() => this.#timeout("total"), options.timeouts.totalMs);
  }

  /** The signal every part of the call listens to. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /**
   * Send the request; resolves when the response headers are in.
   *
   * @param url The URL.
   * @param init Method, headers, body.
   * @returns The response, whatever its status.
   * @throws {PluginError} `upstream_timeout` or `upstream_error` (network failure); the
   * caller's abort reason when cancelled.
   */
  async fetch(url: string, init: RequestInit): Promise<Response> {
    const firstByte = setTimeout(
      () => this.#timeout("first_byte"),
      this.#options.timeouts.firstByteMs,
    );
    try {
      return await (this.#options.fetch ?? fetch)(url, {
        ...init,
        signal: this.#controller.signal,
      });
    } catch (error) {
      throw this.#failure(error, url);
    } finally {
      clearTimeout(firstByte);
    }
  }

  /**
   * Read a JSON body within the call's timeouts.
   *
   * @param response The response.
   * @returns The parsed body.
   * @throws {PluginError} `upstream_error` when it is not JSON; timeouts as above.
   */
  async json(response: Response): Promise<unknown> {
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw this.#failure(error, response.url, "read");
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new PluginError(
        "upstream_error",
        `The upstream answered ${response.status} with a body that is not JSON`,
        {
          status: 502,
          upstream_status: response.status,
        },
      );
    }
  }

  /**
   * Read a streamed body as server-sent events, failing if no byte arrives within the idle
   * timeout. Ends when the body ends.
   *
   * @param response The response.
   * @returns The events, in order.
   * @throws {PluginError} `upstream_timeout` when idle too long, `upstream_error` when the
   * connection breaks.
   */
  async *events(response: Response): AsyncGenerator<SseEvent> {
    if (!response.body) return;
    const reader = response.body.getReader();
    const parser = new SseParser();
    const decoder = new TextDecoder();
    try {
      while (true) {
        const idle = setTimeout(() => this.#timeout("idle"), this.#options.timeouts.idleMs);
        let read: ReadableStreamReadResult<Uint8Array>;
        try {
          read = await reader.read();
        } catch (error) {
          throw this.#failure(error, response.url, "read");
        } finally {
          clearTimeout(idle);
        }
        if (read.done) break;
        yield* parser.push(decoder.decode(read.value, { stream: true }));
        if (parser.buffered > 16 * 1024 * 1024) {
          throw new PluginError("upstream_error", "The upstream sent an event longer than 16 MiB", {
            status: 502,
          });
        }
      }
      yield* parser.push(decoder.decode());
    } finally {
      reader.cancel().catch(() => {});
    }
  }

  /** Stop the clock and forget the caller's signal; call when done with the response. */
  dispose(): void {
    clearTimeout(this.#timer);
    this.#options.signal?.removeEventListener("abort", this.#onAbort);
  }

  #timeout(why: "first_byte" | "idle" | "total"): void {
    if (this.#controller.signal.aborted) return;
    this.#why = why;
    this.#controller.abort();
  }

  #failure(error: unknown, url: string, phase: "connect" | "read" = "connect"): unknown {
    if (this.#why !== null) {
      const ms = this.#why === "first_byte"
        ? this.#options.timeouts.firstByteMs
        : this.#why === "idle"
        ? this.#options.timeouts.idleMs
        : this.#options.timeouts.totalMs;
      const what = this.#why === "first_byte"
        ? "did not answer"
        : this.#why === "idle"
        ? "sent nothing"
        : "did not finish";
      return new PluginError(
        "upstream_timeout",
        `The upstream ${what} within ${ms} ms (${safeOrigin(url)})`,
        {
          status: 504,
          timeout: this.#why,
        },
      );
    }
    if (this.#options.signal?.aborted) return this.#options.signal.reason;
    if (error instanceof PluginError) return error;
    const detail = error instanceof Error ? error.message : String(error);
    if (phase === "read") {
      return new PluginError(
        "upstream_error",
        `The upstream connection broke while it was answering (${safeOrigin(url)}): ${detail}`,
        { status: 502, reason: "connection_broken" },
      );
    }
    return new PluginError(
      "upstream_error",
      `Cannot reach the upstream ${safeOrigin(url)}: ${detail}`,
      {
        status: 502,
        reason: "unreachable",
      },
    );
  }
}

/** The scheme, host and port of a URL: never its path, query or credentials. */
export function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "(invalid URL)";
  }
}

/**
 * How long an upstream asks to wait, from `retry-after-ms`, `retry-after` (seconds or an
 * HTTP date) or `x-ratelimit-reset-requests`/`-tokens` (`1s`, `6m0s`, `20ms`).
 *
 * @param headers The response headers.
 * @param now The clock, in epoch milliseconds.
 * @returns Milliseconds, or undefined when no header says.
 *
 * @example Read the hints
 * ```ts
 * import assert from "node:assert/strict";
 * import { retryAfterMs } from "./upstream.ts";
 *
 * assert.equal(retryAfterMs(new Headers({ "retry-after": "2" }), 0), 2000);
 * assert.equal(retryAfterMs(new Headers({ "x-ratelimit-reset-requests": "1m30s" }), 0), 90_000);
 * ```
 */
export function retryAfterMs(headers: Headers, now: number): number | undefined {
  const ms = Number(headers.get("retry-after-ms"));
  if (headers.has("retry-after-ms") && Number.isFinite(ms) && ms >= 0) return Math.ceil(ms);
  const retryAfter = headers.get("retry-after");
  if (retryAfter !== null) {
    const seconds = Number(retryAfter);
    if (retryAfter.trim() !== "" && Number.isFinite(seconds) && seconds >= 0) {
      return Math.ceil(seconds * 1000);
    }
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  const resets = ["x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"]
    .map((name) => parseDuration(headers.get(name)))
    .filter((value): value is number => value !== undefined);
  return resets.length > 0 ? Math.max(...resets) : undefined;
}

function parseDuration(text: string | null): number | undefined {
  if (!text) return undefined;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text.trim()) return undefined;
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  return Math.ceil(parts.reduce((sum, [, n, u]) => sum + Number(n) * unit[u!]!, 0));
}

/**
 * The plugin error for an upstream's error answer. The upstream's own message is kept (it
 * tells the client what was wrong with its request); `data.upstream_status` keeps its status.
 *
 * | upstream | type | status for the client |
 * |---|---|---|
 * | 400 with code `content_policy_violation` or `content_filter` | `bad_request`, `data.code: "content_policy"` | 400 |
 * | 400, 413, 422 | `bad_request` | the same |
 * | 401 | `upstream_error` | 502 (the gateway's credentials, not the client's) |
 * | 403 | `forbidden` | 403 |
 * | 404 | `not_found` | 404 |
 * | 408 | `upstream_timeout` | 504 |
 * | 429 | `rate_limited` | 429, with `retry_after_ms` |
 * | 5xx, other | `upstream_error` | 502 |
 *
 * @param status The upstream's status.
 * @param headers Its headers.
 * @param body Its body text.
 * @param now The clock.
 * @returns The error.
 *
 * @example A 429 with a retry hint
 * ```ts
 * import assert from "node:assert/strict";
 * import { upstreamError } from "./upstream.ts";
 *
 * const error = upstreamError(429, new Headers({ "retry-after-ms": "250" }), "{}", 0);
 * assert.equal(error.type, "rate_limited");
 * assert.equal(error.data.retry_after_ms, 250);
 * ```
 */
export function upstreamError(
  status: number,
  headers: Headers,
  body: string,
  now: number,
): PluginError {
  const message = upstreamMessage(body);
  const detail = message ? `: ${message}` : "";
  const data = { upstream_status: status };
  if (status === 400 && isContentPolicy(body)) {
    return new PluginError("bad_request", `The upstream refused the content (400)${detail}`, {
      ...data,
      status,
      code: "content_policy",
    });
  }
  if (status === 400 || status === 413 || status === 422) {
    return new PluginError("bad_request", `The upstream refused the request (${status})${detail}`, {
      ...data,
      status,
      ...paramOf(body),
    });
  }
  if (status === 401) {
    return new PluginError(
      "upstream_error",
      `The upstream refused the gateway's credentials (401)${detail}`,
      {
        ...data,
        status: 502,
      },
    );
  }
  if (status === 403) {
    return new PluginError("forbidden", `The upstream forbids this request (403)${detail}`, {
      ...data,
      status,
    });
  }
  if (status === 404) {
    return new PluginError("not_found", `The upstream does not know this (404)${detail}`, {
      ...data,
      status,
    });
  }
  if (status === 408) {
    return new PluginError("upstream_timeout", `The upstream timed out (408)${detail}`, {
      ...data,
      status: 504,
    });
  }
  if (status === 429) {
    const retry = retryAfterMs(headers, now);
    return new PluginError("rate_limited", `The upstream is rate limiting (429)${detail}`, {
      ...data,
      status,
      ...(retry !== undefined ? { retry_after_ms: retry } : {}),
    });
  }
  return new PluginError("upstream_error", `The upstream failed (${status})${detail}`, {
    ...data,
    status: 502,
  });
}

/** The `error.message` of an OpenAI-style error body, else the start of the text. */
export function upstreamMessage(body: string): string {
  try {
    const parsed = JSON.parse(body);
    const message = parsed?.error?.message ?? parsed?.message;
    if (typeof message === "string") return message.slice(0, 2000);
    if (typeof parsed?.error === "string") return parsed.error.slice(0, 2000);
  } catch { /* not JSON */ }
  return body.trim().slice(0, 500);
}

/** OpenAI's `content_policy_violation`, Azure's `content_filter`. */
function isContentPolicy(body: string): boolean {
  try {
    const error = JSON.parse(body)?.error;
    return ["content_policy_violation", "content_filter"].includes(error?.code) ||
      error?.type === "content_filter";
  } catch {
    return false;
  }
}

function paramOf(body: string): { param?: string } {
  try {
    const param = JSON.parse(body)?.error?.param;
    return typeof param === "string" ? { param } : {};
  } catch {
    return {};
  }
}

/** What {@linkcode CallCounter} counts, for an upstream plugin's `health` detail. */
export interface CallCounts {
  /** Calls started. */
  calls: number;
  /** Calls that failed. */
  failures: number;
  /** Calls running now. */
  in_flight: number;
}

/**
 * Counts an upstream plugin's calls: started, failed, in flight.
 *
 * @example Count a failing call
 * ```ts
 * import assert from "node:assert/strict";
 * import { CallCounter } from "./upstream.ts";
 *
 * const counter = new CallCounter();
 * await counter.track(() => Promise.reject(new Error("down"))).catch(() => {});
 * assert.deepEqual(counter.counts(), { calls: 1, failures: 1, in_flight: 0 });
 * ```
 */
export class CallCounter {
  #counts: CallCounts = { calls: 0, failures: 0, in_flight: 0 };

  /**
   * Run one call and count it.
   *
   * @param work The call.
   * @returns What the call returns.
   */
  async track<T>(work: () => Promise<T>): Promise<T> {
    this.#counts.calls++;
    this.#counts.in_flight++;
    try {
      return await work();
    } catch (error) {
      this.#counts.failures++;
      throw error;
    } finally {
      this.#counts.in_flight--;
    }
  }

  /**
   * The counts now.
   *
   * @returns A copy of the counts.
   */
  counts(): CallCounts {
    return { ...this.#counts };
  }
}
