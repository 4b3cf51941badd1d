/**
 * The error vocabulary of the wire protocol: JSON-RPC codes and the closed list of
 * plugin error types.
 *
 * @module
 */

/** JSON-RPC error codes used on the wire. */
export const ErrorCode = {
  /** The line is not valid JSON (or not valid UTF-8). */
  ParseError: -32700,
  /** The message is not a valid JSON-RPC 2.0 request, or it is larger than the line limit. */
  InvalidRequest: -32600,
  /** The method does not exist or belongs to a capability the plugin does not declare. */
  MethodNotFound: -32601,
  /** The params do not match the method's schema; the message names the field. */
  InvalidParams: -32602,
  /** An unexpected failure inside the handler. */
  InternalError: -32603,
  /** A capability method was called before a successful `initialize`. */
  NotInitialized: -32002,
  /** A plugin error: `data.type` says which, from {@linkcode PLUGIN_ERROR_TYPES}. */
  PluginError: -32000,
  /** The request was cancelled with `$/cancel`. */
  RequestCancelled: -32800,
} as const;

/** The closed list of plugin error types carried in `error.data.type`. */
export const PLUGIN_ERROR_TYPES = [
  "invalid_config",
  "unauthorized",
  "forbidden",
  "rate_limited",
  "bad_request",
  "not_found",
  "upstream_error",
  "upstream_timeout",
  "unavailable",
] as const;

/** One of {@linkcode PLUGIN_ERROR_TYPES}. */
export type PluginErrorType = typeof PLUGIN_ERROR_TYPES[number];

/** One invalid field, as listed by an `invalid_config` or invalid params error. */
export interface FieldIssue {
  /** Path of the field, e.g. `keys[0].sha256`; empty for the whole value. */
  path: string;
  /** What is wrong with it. */
  message: string;
}

/** Extra data of a plugin error; `type` is always present on the wire. */
export interface PluginErrorData {
  /** HTTP status the core should answer with, where the plugin knows better than the default. */
  status?: number;
  /** How long the caller should wait before retrying. */
  retry_after_ms?: number;
  /** Every invalid field (for `invalid_config` and `bad_request`). */
  errors?: FieldIssue[];
  /** Any other detail; it must never contain a secret. */
  [key: string]: unknown;
}

/**
 * A JSON-RPC error as it crosses the wire: a code, a message and optional data.
 *
 * @example Build the error a handler gets for an unknown method
 * ```ts
 * import assert from "node:assert/strict";
 * import { ErrorCode, RpcError } from "./errors.ts";
 *
 * const error = new RpcError(ErrorCode.MethodNotFound, 'Method "x.y" not found');
 * assert.equal(error.code, -32601);
 * ```
 */
export class RpcError extends Error {
  /** The JSON-RPC error code. */
  readonly code: number;
  /** The error's data, if any. */
  readonly data: unknown;

  /**
   * Make an error with a code, a message and data.
   *
   * @param code The JSON-RPC error code.
   * @param message The human-readable message.
   * @param data Optional structured data.
   */
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.name = "RpcError";
    this.code = code;
    this.data = data;
  }
}

/**
 * A plugin error from {@linkcode PLUGIN_ERROR_TYPES}: what handlers throw and what the core maps
 * to an HTTP status and an OpenAI-style error body.
 *
 * @example Refuse a request with a retry hint
 * ```ts
 * import assert from "node:assert/strict";
 * import { PluginError } from "./errors.ts";
 *
 * const error = new PluginError("rate_limited", "Rate limit \"per-minute\" reached", {
 *   retry_after_ms: 1200,
 * });
 * assert.equal(error.type, "rate_limited");
 * assert.deepEqual(error.data, { type: "rate_limited", retry_after_ms: 1200 });
 * ```
 */
export class PluginError extends RpcError {
  /** The plugin error type. */
  readonly type: PluginErrorType;
  /** The data as sent on the wire, `type` included. */
  declare readonly data: PluginErrorData & { type: PluginErrorType };

  /**
   * Make a plugin error.
   *
   * @param type One of {@linkcode PLUGIN_ERROR_TYPES}.
   * @param message What failed, in a sentence that never contains a secret.
   * @param data Status, retry hint, field issues or other detail.
   */
  constructor(type: PluginErrorType, message: string, data: PluginErrorData = {}) {
    super(ErrorCode.PluginError, message, { ...data, type });
    this.name = "PluginError";
    this.type = type;
  }
}

/**
 * Tell whether a value is one of {@linkcode PLUGIN_ERROR_TYPES}.
 *
 * @param value Any value.
 * @returns `true` when it is a plugin error type.
 *
 * @example Check a type received from a peer
 * ```ts
 * import assert from "node:assert/strict";
 * import { isPluginErrorType } from "./errors.ts";
 *
 * assert.equal(isPluginErrorType("not_found"), true);
 * assert.equal(isPluginErrorType("teapot"), false);
 * ```
 */
export function isPluginErrorType(value: unknown): value is PluginErrorType {
  return typeof value === "string" && (PLUGIN_ERROR_TYPES as readonly string[]).includes(value);
}

/**
 * Turn an error object received on the wire into an {@linkcode RpcError}, or a
 * {@linkcode PluginError} when its data carries a known plugin error type.
 *
 * @param error The `error` member of a JSON-RPC response.
 * @returns The matching error instance.
 *
 * @example Revive a plugin error
 * ```ts
 * import assert from "node:assert/strict";
 * import { errorFromWire, PluginError } from "./errors.ts";
 *
 * const error = errorFromWire({ code: -32000, message: "No", data: { type: "forbidden" } });
 * assert.ok(error instanceof PluginError);
 * ```
 */
export function errorFromWire(error: { code: number; message: string; data?: unknown }): RpcError {
  const data = error.data;
  if (isRecord(data) && isPluginErrorType(data.type)) {
    const { type, ...rest } = data;
    return new PluginError(type, error.message, rest);
  }
  return new RpcError(error.code, error.message, data);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
