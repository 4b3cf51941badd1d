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
 * is allowed, else the config's. Any other override is refused, so a router can never send a
 * request (and the API key) elsewhere.
 *
 * An override is allowed when it is an http(s) URL without user info, query or fragment whose
 * normalized form (`scheme://host[:port]/path`) starts with one of `allowed_base_urls`. A
 * prefix that ends inside the host (`http://10.0.3.`) admits IP addresses only: a name such
 * as `10.0.3.7.example.com` must match a prefix that names its host in full.
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
  let url: URL;
  try {
    url = new URL(override);
  } catch {
    throw refused("is not a URL");
  }
  const shown = `${url.protocol}//${url.host}${url.pathname}`;
  if (url.protocol !== "http:" && url.protocol !== "https:") throw refused("is not http(s)");
  if (url.username || url.password) throw refused(`"${shown}" carries user info`);
  if (url.search || url.hash) throw refused(`"${shown}" has a query or fragment`);
  if (!connection.allowed_base_urls.some((prefix) => admits(prefix, url, shown))) {
    throw refused(`"${shown}" starts with none of allowed_base_urls`);
  }
  return trimSlash(shown);
}

function refused(why: string): PluginError {
  return new PluginError(
    "bad_request",
    `Route option "base_url" is not allowed: it ${why}`,
    { status: 500 },
  );
}

/** Whether a prefix admits a URL (`shown` is its normalized form). */
function admits(prefix: string, url: URL, shown: string): boolean {
  if (!shown.startsWith(prefix)) return false;
  const afterScheme = prefix.slice(url.protocol.length + 2);
  const endsInsideHost = !afterScheme.includes("/") && afterScheme !== url.host;
  return !endsInsideHost || isIpLiteral(url.hostname);
}

function isIpLiteral(hostname: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(hostname) || hostname.startsWith("[");
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
