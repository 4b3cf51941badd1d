/**
 * How plugin errors become HTTP answers in the OpenAI style.
 *
 * @module
 */

import type { PluginError, PluginErrorType } from "../protocol/errors.ts";
import type { OpenAIErrorBody } from "./types.ts";

const STATUS: Record<PluginErrorType, number> = {
  invalid_config: 500,
  unauthorized: 401,
  forbidden: 403,
  rate_limited: 429,
  bad_request: 400,
  not_found: 404,
  upstream_error: 502,
  upstream_timeout: 504,
  unavailable: 503,
};

const OPENAI_TYPE: Record<PluginErrorType, string> = {
  invalid_config: "server_error",
  unauthorized: "authentication_error",
  forbidden: "permission_error",
  rate_limited: "rate_limit_error",
  bad_request: "invalid_request_error",
  not_found: "not_found_error",
  upstream_error: "upstream_error",
  upstream_timeout: "timeout_error",
  unavailable: "service_unavailable_error",
};

/**
 * The HTTP status for a plugin error: `data.status` when the plugin set one (an upstream's
 * 4xx passed through), else the default of its type.
 *
 * @param error The plugin error.
 * @returns The status.
 *
 * @example A rate limit is a 429
 * ```ts
 * import assert from "node:assert/strict";
 * import { PluginError } from "../protocol/errors.ts";
 * import { statusOf } from "./errors.ts";
 *
 * assert.equal(statusOf(new PluginError("rate_limited", "Slow down")), 429);
 * assert.equal(statusOf(new PluginError("upstream_error", "Bad", { status: 400 })), 400);
 * ```
 */
export function statusOf(error: PluginError): number {
  const status = error.data.status;
  if (typeof status === "number" && Number.isInteger(status) && status >= 400 && status <= 599) {
    return status;
  }
  return STATUS[error.type];
}

/**
 * The OpenAI-style body for a plugin error.
 *
 * @param error The plugin error.
 * @returns `{error: {message, type, param, code}}`.
 *
 * @example The body of a forbidden model
 * ```ts
 * import assert from "node:assert/strict";
 * import { PluginError } from "../protocol/errors.ts";
 * import { errorBodyOf } from "./errors.ts";
 *
 * const body = errorBodyOf(new PluginError("forbidden", "Model \"x\" is not allowed"));
 * assert.equal(body.error.type, "permission_error");
 * assert.equal(body.error.code, "forbidden");
 * ```
 */
export function errorBodyOf(error: PluginError): OpenAIErrorBody {
  const param = typeof error.data.param === "string" ? error.data.param : null;
  return {
    error: { message: error.message, type: OPENAI_TYPE[error.type], param, code: error.type },
  };
}

/**
 * An OpenAI-style error body from its parts.
 *
 * @param message What went wrong.
 * @param type The OpenAI error type, e.g. `invalid_request_error`.
 * @param options `param` and `code`.
 * @returns The body.
 *
 * @example A bad JSON body
 * ```ts
 * import assert from "node:assert/strict";
 * import { errorBody } from "./errors.ts";
 *
 * assert.deepEqual(errorBody("Body is not JSON", "invalid_request_error"), {
 *   error: { message: "Body is not JSON", type: "invalid_request_error", param: null, code: null },
 * });
 * ```
 */
export function errorBody(
  message: string,
  type: string,
  options: { param?: string; code?: string } = {},
): OpenAIErrorBody {
  return { error: { message, type, param: options.param ?? null, code: options.code ?? null } };
}
