/**
 * How an OpenAI-style upstream plugin reaches its API: the base URL of a call (the config's,
 * or a route's override under an allowed prefix) and the headers of every call. Shared by
 * upstream-openai and upstream-codex so that both treat overrides and credentials alike.
 *
 * @module
 */

import type { Route } from "../capabilities/common.ts";
import { PluginError } from "../protocol/errors.ts";

/** The connection fields of an upstream plugin's config. */
export interface UpstreamConnection {
  /** Base URL, up to and including `/v1`. */
  base_url: string;
  /** Sent as `Authorization: Bearer`. */
  api_key?: string | undefined;
  /** Sent as `OpenAI-Organization`. */
  organization?: string | undefined;
  /** Sent as `OpenAI-Project`. */
  project?: string | undefined;
  /** Extra headers on every call. */
  headers: Record<string, string>;
  /** Prefixes a route's `options.base_url` may start with. */
  allowed_base_urls: string[];
}

/**
 * The base URL of one call, without a trailing slash: the route's `options.base_url` when it
 * starts with one of `allowed_base_urls`, else the config's. Any other override is refused, so
 * a router can never send a request (and the API key) elsewhere.
 *
 * @param connection The plugin's connection config.
 * @param route The route of the call.
 * @returns The base URL.
 * @throws {PluginError} `bad_request` (status 500: a routing mistake, not the client's) naming
 * the option.
 *
 * @example An allowed override
 * ```ts
 * import assert from "node:assert/strict";
 * import { upstreamBaseUrl } from "./connection.ts";
 *
 * const connection = {
 *   base_url: "https://api.openai.com/v1/",
 *   headers: {},
 *   allowed_base_urls: ["http://10.0.0."],
 * };
 * assert.equal(upstreamBaseUrl(connection, { upstream: "u", model: "m" }), "https://api.openai.com/v1");
 * const route = { upstream: "u", model: "m", options: { base_url: "http://10.0.0.7:8000/v1" } };
 * assert.equal(upstreamBaseUrl(connection, route), "http://10.0.0.7:8000/v1");
 * ```
 */
export function upstreamBaseUrl(connection: UpstreamConnection, route: Route): string {
  const override = route.options?.base_url;
  if (override === undefined) return trimSlash(connection.base_url);
  if (typeof override !== "string") {
    throw new PluginError("bad_request", 'Route option "base_url" must be a string', {
      status: 500,
    });
  }
  if (!connection.allowed_base_urls.some((prefix) => override.startsWith(prefix))) {
    throw new PluginError(
      "bad_request",
      `Route option "base_url" "${override}" is not allowed: it starts with none of allowed_base_urls`,
      { status: 500 },
    );
  }
  return trimSlash(override);
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

/**
 * The headers of every call: content type, accept, the extra headers, then credentials,
 * organization and project (which the extra headers cannot override).
 *
 * @param connection The plugin's connection config.
 * @param stream Whether the call streams (accept `text/event-stream`).
 * @returns The headers.
 *
 * @example Headers with a key
 * ```ts
 * import assert from "node:assert/strict";
 * import { upstreamHeaders } from "./connection.ts";
 *
 * const headers = upstreamHeaders(
 *   { base_url: "x", api_key: "sk-1", headers: { "x-team": "a" }, allowed_base_urls: [] },
 *   false,
 * );
 * assert.equal(headers.authorization, "Bearer sk-1");
 * assert.equal(headers["x-team"], "a");
 * ```
 */
export function upstreamHeaders(
  connection: UpstreamConnection,
  stream: boolean,
): Record<string, string> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: stream ? "text/event-stream" : "application/json",
    ...connection.headers,
  };
  if (connection.api_key) headers.authorization = `Bearer ${connection.api_key}`;
  if (connection.organization) headers["openai-organization"] = connection.organization;
  if (connection.project) headers["openai-project"] = connection.project;
  return headers;
}
