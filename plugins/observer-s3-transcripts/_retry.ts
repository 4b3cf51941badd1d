/**
 * The retry schedule of failed PUTs and INSERTs: exponential, capped, with jitter so that
 * writers that failed together do not retry together.
 *
 * @module
 */

/** Backoff settings (the config's `retry`). */
export interface Backoff {
  initial_ms: number;
  max_ms: number;
  multiplier: number;
}

/**
 * Wait before retry number `attempt` (0 for the first retry): the step
 * `min(max_ms, initial_ms × multiplier^attempt)`, of which a random half is waived.
 */
export function backoffMs(attempt: number, backoff: Backoff, random: () => number): number {
  const step = Math.min(backoff.max_ms, backoff.initial_ms * backoff.multiplier ** attempt);
  return Math.round(step / 2 + random() * (step / 2));
}

/** Wait `ms`; resolves early (to `false`) when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms, true);
    const onAbort = () => done(false);
    signal.addEventListener("abort", onAbort, { once: true });
    function done(completed: boolean): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      resolve(completed);
    }
  });
}
