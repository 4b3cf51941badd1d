/**
 * A signal for one operation under a long-lived one (a plugin's stop, a gateway's shutdown),
 * with a timeout, that lets go of the operation when it ends.
 *
 * @module
 */

/** What {@linkcode operationSignal} returns: dispose it when the operation ends. */
export interface OperationSignal extends Disposable {
  /** Aborted with the parent's reason, at the timeout, or by {@linkcode abort}. */
  readonly signal: AbortSignal;
  /** Whether it was the timeout that aborted it. */
  readonly timedOut: boolean;
  /** Abort the operation now. */
  abort(reason?: unknown): void;
}

/**
 * A signal aborted when `parent` aborts (with its reason) or after `timeoutMs` (with a
 * `TimeoutError` DOMException carrying `message`). Disposing it clears the timer and removes
 * its listener from `parent`.
 *
 * Prefer it to `AbortSignal.any([parent, AbortSignal.timeout(ms)])` for work repeated under
 * one long-lived signal: a dependent signal stays linked to its sources until one of them
 * aborts, and `AbortSignal.timeout`'s timer keeps its signal for the full time, so each
 * operation (and whatever listens to its signal, e.g. a `fetch` and its request) would stay
 * reachable long after it ended.
 *
 * @param parent The long-lived signal, if any.
 * @param timeoutMs Time the operation may take.
 * @param message The timeout's message: name the setting, e.g. `"... took longer than
 *   timeout_ms (5000 ms)"`.
 * @returns The operation's signal; `using` disposes it at the end of the block.
 *
 * @example One request under a plugin's stop signal
 * ```ts
 * import assert from "node:assert/strict";
 * import { operationSignal } from "./operation_signal.ts";
 *
 * const stopping = new AbortController();
 * {
 *   using operation = operationSignal(stopping.signal, 5000, "The call took over 5000 ms");
 *   assert.equal(operation.signal.aborted, false);
 * }
 * stopping.abort();
 * ```
 */
export function operationSignal(
  parent: AbortSignal | undefined,
  timeoutMs: number,
  message: string,
): OperationSignal {
  const controller = new AbortController();
  let timedOut = false;
  const onParentAbort = () => controller.abort(parent!.reason);
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException(message, "TimeoutError"));
  }, timeoutMs);
  if (parent?.aborted) onParentAbort();
  else parent?.addEventListener("abort", onParentAbort, { once: true });
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    abort: (reason) => controller.abort(reason),
    [Symbol.dispose]() {
      clearTimeout(timer);
      parent?.removeEventListener("abort", onParentAbort);
    },
  };
}
