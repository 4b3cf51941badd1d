/**
 * What every upstream plugin needs to call an OpenAI-style HTTP API well: timeouts for the
 * first byte, between stream events and in total, cancellation, and call counters. The mapping
 * of error answers is in upstream_errors.ts.
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

/** The timeouts of an upstream plugin's config, as gateway.yaml writes them. */
export interface UpstreamTimeoutsConfig {
  /** Until the response headers arrive. */
  first_byte_ms: number;
  /** Between two reads of a streamed body. */
  idle_ms: number;
  /** For the whole call. */
  total_ms: number;
}

/**
 * Start an {@linkcode UpstreamCall} with the timeouts of a plugin's config.
 *
 * @param timeouts The config's `timeouts` block.
 * @param options The call's signal, fetch and clock.
 * @returns The call; dispose it when done.
 *
 * @example A call with config timeouts
 * ```ts
 * import assert from "node:assert/strict";
 * import { openUpstreamCall } from "./upstream.ts";
 *
 * const call = openUpstreamCall({ first_byte_ms: 100, idle_ms: 100, total_ms: 1000 }, {});
 * assert.equal(call.signal.aborted, false);
 * call.dispose();
 * ```
 */
export function openUpstreamCall(
  timeouts: UpstreamTimeoutsConfig,
  options: Omit<UpstreamCallOptions, "timeouts">,
): UpstreamCall {
  return new UpstreamCall({
    ...options,
    timeouts: {
      firstByteMs: timeouts.first_byte_ms,
      idleMs: timeouts.idle_ms,
      totalMs: timeouts.total_ms,
    },
  });
}

/** The scheme, host and port of a URL: never its path, query or credentials. */
export function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "(invalid URL)";
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
