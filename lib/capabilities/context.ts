/**
 * What every capability handler receives besides its params.
 *
 * @module
 */

/** A structured logger writing JSON lines to stderr; secrets are redacted. */
export interface Logger {
  /** Log at debug level. */
  debug(msg: string, fields?: Record<string, unknown>): void;
  /** Log at info level. */
  info(msg: string, fields?: Record<string, unknown>): void;
  /** Log at warn level. */
  warn(msg: string, fields?: Record<string, unknown>): void;
  /** Log at error level. */
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** The context of one capability call. */
export interface CallContext {
  /** Aborted when the core cancels the call (`$/cancel`) or the connection closes. */
  signal: AbortSignal;
  /** The plugin's logger. */
  logger: Logger;
  /** Send a notification to the core during the call, e.g. `upstream.chunk`. */
  notify(method: string, params: unknown): void;
  /** The JSON-RPC id of the call, for notifications that refer to it. */
  id: string | number;
}
