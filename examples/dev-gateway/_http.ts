/**
 * The HTTP API: routing of paths, request ids, the body (read in _body.ts), authentication,
 * `/v1/models`, `/healthz`, and OpenAI-style errors for everything that fails.
 *
 * @module
 */

import { checkHealth } from "@vulpes/contract/host";
import type { Identity } from "@vulpes/contract/capabilities";
import type { ServerConfig } from "./config.ts";
import { readBody } from "./_body.ts";
import { HttpError, httpError, toHttpError } from "./_errors.ts";
import { type RequestLifetime, startLifetime } from "./_lifetime.ts";
import type { Log } from "./_log.ts";
import type { EventSink } from "./_observe.ts";
import { type ApiRequest, failed, json, runPipeline } from "./_pipeline.ts";
import type { Plugins } from "./_plugins.ts";
import { authenticate, listModels, type StageContext } from "./_stages.ts";

/** What the handler needs. */
export interface HandlerDeps {
  /** Server settings. */
  server: ServerConfig;
  /** The plugins. */
  plugins: Plugins;
  /** The log. */
  log: Log;
  /** Observer events. */
  events: EventSink;
  /** Aborted when the gateway starts to stop: requests in flight may still finish. */
  closing: AbortSignal;
  /** Aborts every request in flight (shutdown deadline). */
  stopping: AbortSignal;
}

const API_PATHS: Record<string, { method: string; kind?: ApiRequest["kind"] }> = {
  "/v1/chat/completions": { method: "POST", kind: "chat" },
  "/v1/embeddings": { method: "POST", kind: "embeddings" },
  "/v1/models": { method: "GET" },
  "/healthz": { method: "GET" },
};

const TRACEPARENT = /^[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * Make the request handler.
 *
 * @param deps Settings, plugins, log, events.
 * @returns A `Deno.serve` handler.
 */
export function createHandler(
  deps: HandlerDeps,
): (request: Request, info: Deno.ServeHandlerInfo) => Promise<Response> {
  return async function handle(request, info) {
    const started = performance.now();
    const given = request.headers.get("x-request-id") ?? "";
    const requestId = /^[\w.:-]{1,128}$/.test(given) ? given : `req_${crypto.randomUUID()}`;
    const headers = new Headers({ "x-request-id": requestId });
    const path = new URL(request.url).pathname.replace(/\/+$/, "") || "/";
    let response: Response;
    try {
      response = await dispatch(deps, request, info, { requestId, headers, path, started });
    } catch (error) {
      const http = toHttpError(error);
      if (http.status >= 500 && !(error instanceof HttpError)) {
        deps.log.error("request failed", {
          request_id: requestId,
          error: (error as Error)?.message ?? String(error),
        });
      }
      for (const [name, value] of Object.entries(http.headers)) headers.set(name, value);
      response = json(http.body, headers, http.status);
    }
    deps.log.info("request", {
      request_id: requestId,
      method: request.method,
      path,
      status: response.status,
      latency_ms: Math.round(performance.now() - started),
    });
    return response;
  };
}

interface Incoming {
  requestId: string;
  headers: Headers;
  path: string;
  started: number;
}

async function dispatch(
  deps: HandlerDeps,
  request: Request,
  info: Deno.ServeHandlerInfo,
  incoming: Incoming,
): Promise<Response> {
  const { path, headers } = incoming;
  const spec = API_PATHS[path];
  if (!spec) throw httpError(404, `Unknown path "${path}"`, "invalid_request_error", "not_found");
  if (request.method !== spec.method) {
    headers.set("allow", spec.method);
    throw httpError(
      405,
      `Method ${request.method} is not allowed on "${path}": use ${spec.method}`,
      "invalid_request_error",
      "method_not_allowed",
    );
  }
  if (path === "/healthz") return health(deps, headers);
  // Not request.signal: Deno aborts it after every successful response (legacy behaviour);
  // a streaming client that leaves is noticed through the cancelled response body.
  const lifetime = startLifetime(deps.stopping, deps.server.request_timeout_ms);
  const release = lifetime.hold();
  try {
    return await serveApi(deps, request, info, incoming, spec.kind, lifetime);
  } finally {
    release();
  }
}

async function serveApi(
  deps: HandlerDeps,
  request: Request,
  info: Deno.ServeHandlerInfo,
  incoming: Incoming,
  kind: ApiRequest["kind"] | undefined,
  lifetime: RequestLifetime,
): Promise<Response> {
  const { path, headers } = incoming;
  const signal = lifetime.signal;
  const context: StageContext = {
    plugins: deps.plugins,
    log: deps.log,
    requestId: incoming.requestId,
    signal,
    headers,
  };
  const body = kind
    ? await readBody(request, kind, {
      maxBytes: deps.server.max_body_bytes,
      timeoutMs: deps.server.request_timeout_ms,
      signal,
      closing: deps.closing,
    })
    : {};
  const model = typeof body.model === "string" ? body.model : undefined;
  const traceparent = request.headers.get("traceparent")?.trim().toLowerCase();
  const eventBase: Record<string, unknown> = {
    request_id: incoming.requestId,
    ...(model ? { model } : {}),
    ...(traceparent && TRACEPARENT.test(traceparent) ? { traceparent } : {}),
  };
  let identity: Identity;
  try {
    identity = await authenticate(context, {
      ...optional("authorization", request.headers.get("authorization")),
      ...optional("apiKey", request.headers.get("x-api-key")),
      method: request.method,
      path,
      ...(model ? { model } : {}),
      clientIp: (info.remoteAddr as Deno.NetAddr).hostname,
    });
  } catch (error) {
    const http = toHttpError(error);
    deps.events.emit({
      ...eventBase,
      type: "request.rejected",
      status: http.status,
      error: { type: http.body.error.type, message: http.body.error.message },
    } as never);
    throw error;
  }
  eventBase.subject = identity.subject;
  if (identity.tenant) eventBase.tenant = identity.tenant;
  if (!kind) return json(await listModels(context), headers);
  const cacheControl = (request.headers.get("cache-control") ?? "").toLowerCase();
  const apiRequest: ApiRequest = {
    kind,
    context,
    abort: lifetime.abort,
    hold: lifetime.hold,
    identity,
    body,
    events: deps.events,
    capturePayloads: deps.server.capture_payloads,
    ...(deps.server.cache_ttl_ms ? { cacheTtlMs: deps.server.cache_ttl_ms } : {}),
    cache: {
      read: !/\bno-(cache|store)\b/.test(cacheControl),
      write: !/\bno-store\b/.test(cacheControl),
    },
    eventBase,
    started: incoming.started,
  };
  try {
    return await runPipeline(apiRequest);
  } catch (error) {
    const http = toHttpError(signal.aborted ? signal.reason : error);
    if (http.status === 429) {
      deps.events.emit({
        ...eventBase,
        type: "request.rejected",
        status: 429,
        error: { type: http.body.error.type, message: http.body.error.message },
      } as never);
    } else failed(apiRequest, http.status, error);
    throw http;
  }
}

function optional<K extends string>(key: K, value: string | null): { [P in K]?: string } {
  return (value === null ? {} : { [key]: value }) as { [P in K]?: string };
}

async function health(deps: HandlerDeps, headers: Headers): Promise<Response> {
  const entries = await Promise.all(deps.plugins.all.map(async (plugin) => {
    const answer = await checkHealth(plugin.process, {
      timeoutMs: Math.min(plugin.timeoutMs, 2000),
    });
    return [plugin.name, {
      status: answer.status,
      ...(answer.detail ? { detail: answer.detail } : {}),
      fail_mode: plugin.failMode,
      state: plugin.process.state,
      pid: plugin.process.pid ?? null,
      restarts: plugin.process.restarts,
    }] as const;
  }));
  let status: "ok" | "degraded" | "unavailable" = "ok";
  for (const [, entry] of entries) {
    if (entry.status === "unavailable" && entry.fail_mode === "closed") status = "unavailable";
    else if (entry.status !== "ok" && status === "ok") status = "degraded";
  }
  return json(
    { status, plugins: Object.fromEntries(entries) },
    headers,
    status === "unavailable" ? 503 : 200,
  );
}
