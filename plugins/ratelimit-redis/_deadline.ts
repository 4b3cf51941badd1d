/**
 * A deadline around one call to Redis. node-redis 5 applies its command timeout only while a
 * command waits to be written: once written, it waits for the answer for as long as the
 * connection lives. A server that stops answering without closing the connection (`CLIENT
 * PAUSE`, overload, a half-open TCP connection) would hold an acquire forever, and neither
 * `command_timeout_ms` nor the local fallback would ever apply; so every call runs under this
 * deadline.
 *
 * @module
 */

import { operationSignal } from "@vulpes/contract/plugin";

/**
 * `work`'s outcome, or a rejection when `timeoutMs` passes first (a `TimeoutError`
 * DOMException naming `command_timeout_ms`), or with the signal's reason when `signal` aborts
 * first. A late outcome of `work` is ignored (it cannot become an unhandled rejection).
 *
 * @param work The pending Redis call.
 * @param timeoutMs The time it may take: `command_timeout_ms`.
 * @param signal The call's cancellation, if any.
 * @returns What `work` resolves to, if in time.
 */
export async function withDeadline<T>(
  work: Promise<T>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<T> {
  using operation = operationSignal(
    signal,
    timeoutMs,
    `no answer within command_timeout_ms (${timeoutMs} ms)`,
  );
  return await Promise.race([work, rejection(operation.signal)]);
}

/** A promise rejected with the signal's reason when it aborts. */
function rejection(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}
