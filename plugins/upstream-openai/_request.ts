import type { Route } from "@vulpes/contract/capabilities";
import { PluginError } from "@vulpes/contract/plugin";
import type { Config } from "./config.ts";

/** The base URL of a call: the route's `options.base_url` when allowed, else the config's. */
export function baseUrlFor(config: Config, route: Route): string {
  const override = route.options?.base_url;
  if (override === undefined) return trimSlash(config.base_url);
  if (typeof override !== "string") {
    throw new PluginError("bad_request", 'Route option "base_url" must be a string', {
      status: 500,
    });
  }
  const allowed = config.allowed_base_urls.some((prefix) => override.startsWith(prefix));
  if (!allowed) {
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

/** Headers of every call. */
export function headersFor(config: Config, stream: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: stream ? "text/event-stream" : "application/json",
    ...config.headers,
  };
  if (config.api_key) headers.authorization = `Bearer ${config.api_key}`;
  if (config.organization) headers["openai-organization"] = config.organization;
  if (config.project) headers["openai-project"] = config.project;
  return headers;
}

/**
 * The body sent upstream: the client's request with the route's model; when streaming, with
 * `stream_options.include_usage` so that the usage is always known.
 */
export function chatBody(
  request: Record<string, unknown>,
  model: string,
  stream: boolean,
): Record<string, unknown> {
  const body: Record<string, unknown> = { ...request, model };
  if (stream) {
    const options = typeof request.stream_options === "object" && request.stream_options !== null
      ? request.stream_options
      : {};
    body.stream = true;
    body.stream_options = { ...options, include_usage: true };
  } else {
    delete body.stream;
    delete body.stream_options;
  }
  return body;
}
