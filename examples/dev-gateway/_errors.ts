/**
 * Errors the gateway answers with, in the OpenAI style, and how plugin failures are told
 * apart from plugin answers.
 *
 * @module
 */

import { PluginError, RpcError } from "@vulpes/contract/protocol";
import { errorBody, errorBodyOf, type OpenAIErrorBody, statusOf } from "@vulpes/contract/openai";

/** An error answer: status, OpenAI-style body, extra headers. */
export class HttpError extends Error {
  /** HTTP status. */
  readonly status: number;
  /** The body. */
  readonly body: OpenAIErrorBody;
  /** Extra headers (retry-after). */
  readonly headers: Record<string, string>;
  constructor(
    status: number,
    body: OpenAIErrorBody,
    headers: Record<string, string> = {},
  ) {
    super(body.error.message);
    this.name = "HttpError";
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

/**
 * An error answer from its parts.
 *
 * @param status HTTP status.
 * @param message What went wrong.
 * @param type OpenAI error type.
 * @param code Machine-readable code.
 * @returns The error.
 */
export function httpError(status: number, message: string, type: string, code?: string): HttpError {
  return new HttpError(status, errorBody(message, type, code ? { code } : {}));
}

/**
 * Whether an error means the plugin failed (down, timed out, crashed, answered nonsense)
 * rather than answered: fail_mode applies only to failures.
 *
 * @param error What a client call rejected with.
 * @returns True for a failure.
 */
export function isPluginFailure(error: unknown): boolean {
  if (error instanceof PluginError) return error.type === "unavailable";
  return true;
}

/**
 * The answer for any error: an HttpError as is, a PluginError mapped by its type (an
 * upstream's 5xx becomes 502), anything else a 500 that does not leak internals.
 *
 * @param error The error.
 * @returns The HttpError.
 */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof PluginError) {
    let status = statusOf(error);
    if (error.type === "upstream_error" && status >= 500) status = 502;
    if (error.type === "invalid_config") status = 500;
    const headers: Record<string, string> = {};
    const retry = error.data.retry_after_ms;
    if (typeof retry === "number" && retry >= 0) {
      headers["retry-after"] = String(Math.max(1, Math.ceil(retry / 1000)));
      headers["retry-after-ms"] = String(Math.round(retry));
    }
    return new HttpError(status, errorBodyOf(error), headers);
  }
  if (error instanceof DOMException && error.name === "AbortError") {
    // The client went away: nobody reads this answer, but logs and observers record 499.
    return httpError(
      499,
      "The client closed the request",
      "client_closed_request",
      "client_closed",
    );
  }
  if (error instanceof DOMException && error.name === "TimeoutError") {
    return httpError(504, "The request took too long", "timeout_error", "request_timeout");
  }
  if (error instanceof RpcError) {
    return httpError(502, `A plugin failed: ${error.message}`, "server_error", "plugin_error");
  }
  return httpError(500, "Internal error", "server_error");
}

/**
 * The error for a plugin that failed with `fail_mode: closed`.
 *
 * @param plugin The instance name.
 * @param stage What it was asked to do.
 * @param error Its failure.
 * @returns A 503.
 */
export function closedFailure(plugin: string, stage: string, error: unknown): HttpError {
  const why = error instanceof Error ? error.message : String(error);
  return httpError(
    503,
    `Cannot ${stage}: plugin "${plugin}" failed (fail_mode closed): ${why}`,
    "service_unavailable_error",
    "plugin_unavailable",
  );
}
