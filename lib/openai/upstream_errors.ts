/**
 * How an upstream's error answers become plugin errors: the status mapping, the retry hints,
 * content-policy refusals, and the upstream's own message.
 *
 * @module
 */

import { PluginError } from "../protocol/errors.ts";

/**
 * How long an upstream asks to wait, from `retry-after-ms`, `retry-after` (seconds or an
 * HTTP date) or `x-ratelimit-reset-requests`/`-tokens` (`1s`, `6m0s`, `20ms`).
 *
 * @param headers The response headers.
 * @param now The clock, in epoch milliseconds.
 * @returns Milliseconds, or undefined when no header says.
 *
 * @example Read the hints
 * ```ts
 * import assert from "node:assert/strict";
 * import { retryAfterMs } from "./upstream_errors.ts";
 *
 * assert.equal(retryAfterMs(new Headers({ "retry-after": "2" }), 0), 2000);
 * assert.equal(retryAfterMs(new Headers({ "x-ratelimit-reset-requests": "1m30s" }), 0), 90_000);
 * ```
 */
export function retryAfterMs(headers: Headers, now: number): number | undefined {
  const ms = Number(headers.get("retry-after-ms"));
  if (headers.has("retry-after-ms") && Number.isFinite(ms) && ms >= 0) return Math.ceil(ms);
  const retryAfter = headers.get("retry-after");
  if (retryAfter !== null) {
    const seconds = Number(retryAfter);
    if (retryAfter.trim() !== "" && Number.isFinite(seconds) && seconds >= 0) {
      return Math.ceil(seconds * 1000);
    }
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  const resets = ["x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"]
    .map((name) => parseDuration(headers.get(name)))
    .filter((value): value is number => value !== undefined);
  return resets.length > 0 ? Math.max(...resets) : undefined;
}

function parseDuration(text: string | null): number | undefined {
  if (!text) return undefined;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text.trim()) return undefined;
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  return Math.ceil(parts.reduce((sum, [, n, u]) => sum + Number(n) * unit[u!]!, 0));
}

/**
 * The plugin error for an upstream's error answer. The upstream's own message is kept (it
 * tells the client what was wrong with its request); `data.upstream_status` keeps its status.
 *
 * | upstream | type | status for the client |
 * |---|---|---|
 * | 400 with code `content_policy_violation` or `content_filter` | `bad_request`, `data.code: "content_policy"` | 400 |
 * | 400, 413, 422 | `bad_request` | the same |
 * | 401 | `upstream_error` | 502 (the gateway's credentials, not the client's) |
 * | 403 | `forbidden` | 403 |
 * | 404 | `not_found` | 404 |
 * | 408 | `upstream_timeout` | 504 |
 * | 429 | `rate_limited` | 429, with `retry_after_ms` |
 * | 5xx, other | `upstream_error` | 502 |
 *
 * @param status The upstream's status.
 * @param headers Its headers.
 * @param body Its body text.
 * @param now The clock.
 * @returns The error.
 *
 * @example A 429 with a retry hint
 * ```ts
 * import assert from "node:assert/strict";
 * import { upstreamError } from "./upstream_errors.ts";
 *
 * const error = upstreamError(429, new Headers({ "retry-after-ms": "250" }), "{}", 0);
 * assert.equal(error.type, "rate_limited");
 * assert.equal(error.data.retry_after_ms, 250);
 * ```
 */
export function upstreamError(
  status: number,
  headers: Headers,
  body: string,
  now: number,
): PluginError {
  const message = upstreamMessage(body);
  const detail = message ? `: ${message}` : "";
  const data = { upstream_status: status };
  if (status === 400 && isContentPolicy(body)) {
    return new PluginError("bad_request", `The upstream refused the content (400)${detail}`, {
      ...data,
      status,
      code: "content_policy",
    });
  }
  if (status === 400 || status === 413 || status === 422) {
    return new PluginError("bad_request", `The upstream refused the request (${status})${detail}`, {
      ...data,
      status,
      ...paramOf(body),
    });
  }
  if (status === 401) {
    return new PluginError(
      "upstream_error",
      `The upstream refused the gateway's credentials (401)${detail}`,
      {
        ...data,
        status: 502,
      },
    );
  }
  if (status === 403) {
    return new PluginError("forbidden", `The upstream forbids this request (403)${detail}`, {
      ...data,
      status,
    });
  }
  if (status === 404) {
    return new PluginError("not_found", `The upstream does not know this (404)${detail}`, {
      ...data,
      status,
    });
  }
  if (status === 408) {
    return new PluginError("upstream_timeout", `The upstream timed out (408)${detail}`, {
      ...data,
      status: 504,
    });
  }
  if (status === 429) {
    const retry = retryAfterMs(headers, now);
    return new PluginError("rate_limited", `The upstream is rate limiting (429)${detail}`, {
      ...data,
      status,
      ...(retry !== undefined ? { retry_after_ms: retry } : {}),
    });
  }
  return new PluginError("upstream_error", `The upstream failed (${status})${detail}`, {
    ...data,
    status: 502,
  });
}

/** The `error.message` of an OpenAI-style error body, else the start of the text. */
export function upstreamMessage(body: string): string {
  try {
    const parsed = JSON.parse(body);
    const message = parsed?.error?.message ?? parsed?.message;
    if (typeof message === "string") return message.slice(0, 2000);
    if (typeof parsed?.error === "string") return parsed.error.slice(0, 2000);
  } catch { /* not JSON */ }
  return body.trim().slice(0, 500);
}

/** OpenAI's `content_policy_violation`, Azure's `content_filter`. */
function isContentPolicy(body: string): boolean {
  try {
    const error = JSON.parse(body)?.error;
    return ["content_policy_violation", "content_filter"].includes(error?.code) ||
      error?.type === "content_filter";
  } catch {
    return false;
  }
}

function paramOf(body: string): { param?: string } {
  try {
    const param = JSON.parse(body)?.error?.param;
    return typeof param === "string" ? { param } : {};
  } catch {
    return {};
  }
}
