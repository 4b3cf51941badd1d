/**
 * A deadline around one Redis command. node-redis applies its own command timeout only while
 * a command waits to be written: once written, it waits for the answer for as long as the
 * connection lives. A server that stops answering (paused, overloaded, a half-open TCP
 * connection) would hold a cache call forever, so every command runs under this deadline.
 *
 * @module
 */

/** A Redis command that got no answer in time. */
export class CommandTimeoutError extends Error {
  /** @param timeoutMs The deadline that passed. */
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = "CommandTimeoutError";
  }
}

/**
 * `promise`, or a rejection with {@linkcode CommandTimeoutError} after `timeoutMs`, or with the
 * signal's reason when `signal` aborts first. The promise's own late outcome is ignored.
 */
export function withDeadline<T>(
  promise: Promise<T>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<T> {
  if (signal?.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => settle(() => reject(signal!.reason));
    const timer = setTimeout(
      () => settle(() => reject(new CommandTimeoutError(timeoutMs))),
      timeoutMs,
    );
    signal?.addEventListener("abort", onAbort, { once: true });
    let settled = false;
    function settle(finish: () => void): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      finish();
    }
    promise.then(
      (value) => settle(() => resolve(value)),
      (error) => settle(() => reject(error)),
    );
  });
}
