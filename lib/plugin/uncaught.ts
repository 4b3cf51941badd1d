/**
 * Ending a process on an error nothing caught, through a logger that redacts secrets.
 *
 * @module
 */

/** Exit code of a process ended by an error nothing caught (EX_SOFTWARE). */
export const UNCAUGHT_EXIT_CODE = 70;

/** Options of {@linkcode exitOnUncaught}. */
export interface ExitOnUncaughtOptions {
  /** Ends the process with a code (default `Deno.exit`). */
  exit?: (code: number) => void;
  /** What exits, for the log line, e.g. `"the plugin"`. */
  what?: string;
}

/**
 * An error nothing caught (a promise rejected without a handler, a throw in a timer) ends the
 * process, as Deno would, but as one `error` line through `logger`, which redacts secrets,
 * where Deno prints the raw error (a driver's message may quote a password). `runPlugin`
 * installs it for every plugin; a host can install it too.
 *
 * @param logger Where the line goes.
 * @param options The exit and what exits.
 * @returns A function that removes the handlers.
 *
 * @example A rejection nobody handles is logged, then the process ends with 70
 * ```ts
 * import assert from "node:assert/strict";
 * import { exitOnUncaught } from "./uncaught.ts";
 *
 * const lines: string[] = [];
 * const codes: number[] = [];
 * const stop = exitOnUncaught({ error: (msg) => lines.push(msg) }, { exit: (c) => codes.push(c) });
 * const promise = Promise.reject(new Error("boom"));
 * globalThis.dispatchEvent(new PromiseRejectionEvent("unhandledrejection", { promise, reason: new Error("boom") }));
 * promise.catch(() => {});
 * stop();
 * assert.deepEqual(codes, [70]);
 * assert.match(lines[0]!, /uncaught error/);
 * ```
 */
export function exitOnUncaught(
  logger: { error(msg: string, fields?: Record<string, unknown>): void },
  options: ExitOnUncaughtOptions = {},
): () => void {
  const exit = options.exit ?? ((code: number) => Deno.exit(code));
  const what = options.what ?? "the process";
  function onUncaught(event: Event): void {
    event.preventDefault();
    const error = event instanceof PromiseRejectionEvent
      ? event.reason
      : (event as ErrorEvent).error;
    logger.error(`uncaught error: ${what} exits (a bug in ${what})`, {
      error: error instanceof Error ? error.message : String(error),
      ...(error instanceof Error && error.stack ? { stack: error.stack } : {}),
      exit_code: UNCAUGHT_EXIT_CODE,
    });
    exit(UNCAUGHT_EXIT_CODE);
  }
  globalThis.addEventListener("unhandledrejection", onUncaught);
  globalThis.addEventListener("error", onUncaught);
  return () => {
    globalThis.removeEventListener("unhandledrejection", onUncaught);
    globalThis.removeEventListener("error", onUncaught);
  };
}
