/**
 * How long a request lives. Its signal aborts at `request_timeout_ms`, when the gateway stops,
 * or when aborted (the client left). As soon as the request is over (its handler returned and
 * any stream it started has ended) the timer and the listener on the gateway's signal are
 * released: a finished request holds nothing until its timeout would have fired.
 *
 * @module
 */

import { operationSignal } from "@vulpes/contract/plugin";

/** The life of one request. */
export interface RequestLifetime {
  /** Aborted at the timeout (`TimeoutError`), when the gateway stops, or by {@linkcode abort}. */
  readonly signal: AbortSignal;
  /** Abort the request now. */
  abort(reason: unknown): void;
  /**
   * Keep the request alive, e.g. while a stream it started is still being written. The
   * request is over when every hold has been released; releasing twice counts once.
   *
   * @returns The release.
   */
  hold(): () => void;
}

/**
 * Start a request's life. It begins with no hold: take one for the handler at once.
 *
 * @param stopping Aborted when the gateway stops.
 * @param timeoutMs The most a request may take, stream included.
 * @returns The lifetime.
 *
 * @example A request that ends before its timeout releases its timer
 * ```ts
 * import assert from "node:assert/strict";
 * import { startLifetime } from "./_lifetime.ts";
 *
 * const stopping = new AbortController();
 * const lifetime = startLifetime(stopping.signal, 60_000);
 * const release = lifetime.hold();
 * release();
 * stopping.abort();
 * assert.equal(lifetime.signal.aborted, false, "over: the gateway's stop no longer reaches it");
 * ```
 */
export function startLifetime(stopping: AbortSignal, timeoutMs: number): RequestLifetime {
  const operation = operationSignal(
    stopping,
    timeoutMs,
    `The request took longer than request_timeout_ms (${timeoutMs} ms)`,
  );
  let holds = 0;
  let over = false;
  return {
    signal: operation.signal,
    abort: operation.abort,
    hold() {
      if (over) return () => {};
      holds++;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        if (--holds > 0) return;
        over = true;
        operation[Symbol.dispose]();
      };
    },
  };
}
