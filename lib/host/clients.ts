/**
 * Typed clients, one per capability. Each builds the params of a call through the method's
 * schema, which keeps only the named fields, so a plugin never sees more than its capability
 * needs; and each checks the plugin's answer before the core relies on it.
 *
 * @module
 */

import type { AuthenticateParams, AuthenticateResult } from "../capabilities/authenticator.ts";
import type {
  CacheClearParams,
  CacheClearResult,
  CacheDeleteParams,
  CacheDeleteResult,
  CacheGetParams,
  CacheGetResult,
  CacheSetParams,
  CacheSetResult,
} from "../capabilities/cache_provider.ts";
import type { HealthResult } from "../capabilities/lifecycle.ts";
import { healthResultSchema } from "../capabilities/lifecycle.ts";
import { METHODS } from "../capabilities/methods.ts";
import { type EmitParams, observerEventSchema } from "../capabilities/observer.ts";
import type { PromptResolveParams, PromptResolveResult } from "../capabilities/prompt_provider.ts";
import type {
  AcquireParams,
  AcquireResult,
  SettleParams,
  SettleResult,
} from "../capabilities/rate_limiter.ts";
import type {
  FeedbackParams,
  ModelsResult,
  RouteParams,
  RouteResult,
} from "../capabilities/router.ts";
import {
  type UpstreamChatParams,
  type UpstreamChatResult,
  upstreamChunkParamsSchema,
  type UpstreamEmbeddingsParams,
  type UpstreamEmbeddingsResult,
  type UpstreamModelsResult,
} from "../capabilities/upstream_provider.ts";
import { check, parseParams, summarizeIssues } from "../capabilities/validate.ts";
import { PluginError, type RequestOptions, type SendOptions } from "../protocol/mod.ts";

/** What the clients need of a plugin connection (a `PluginProcess` has it). */
export interface PluginCaller {
  /** The instance name, for messages. */
  readonly instance: string;
  /** Call a method. */
  request(method: string, params?: unknown, options?: RequestOptions): Promise<unknown>;
  /** Send a notification; `defer` lets it wait a few ms for other messages to go with. */
  notify(method: string, params?: unknown, options?: SendOptions): void;
}

/** Options of a client call. */
export interface CallOptions {
  /** Cancels the call (the plugin receives `$/cancel`). */
  signal?: AbortSignal;
  /** Overrides the plugin's default call timeout. */
  timeoutMs?: number;
  /**
   * Nobody waits for the answer right away (a cache store, a settle): the call may wait a few
   * milliseconds to go out with other messages, which saves a write and a wake-up of the plugin.
   */
  defer?: boolean;
}

async function call<T>(
  plugin: PluginCaller,
  method: string,
  input: unknown,
  options: RequestOptions = {},
): Promise<T> {
  const spec = METHODS[method]!;
  const params = parseParams(method, spec.params, input);
  const result = await plugin.request(method, params, options);
  const checked = check(spec.result!, result);
  if (!checked.ok) {
    throw new PluginError(
      "unavailable",
      `Plugin "${plugin.instance}" answered "${method}" with an invalid result: ${
        summarizeIssues(checked.issues)
      }`,
      { reason: "invalid_result" },
    );
  }
  return checked.value as T;
}

/** Notifications are never waited for: they go out deferred. */
function notify(plugin: PluginCaller, method: string, input: unknown): void {
  plugin.notify(method, parseParams(method, METHODS[method]!.params, input), DEFERRED);
}

const DEFERRED: SendOptions = { defer: true };

/**
 * Ask a plugin for its health; a plugin that cannot answer is `unavailable`.
 *
 * @param plugin The plugin connection.
 * @param options Timeout.
 * @returns The health, never a rejection.
 *
 * @example Health of a plugin that is down
 * ```ts
 * import assert from "node:assert/strict";
 * import { PluginError } from "../protocol/mod.ts";
 * import { checkHealth } from "./clients.ts";
 *
 * const down = {
 *   instance: "x",
 *   request: () => Promise.reject(new PluginError("unavailable", "down")),
 *   notify: () => {},
 * };
 * assert.equal((await checkHealth(down)).status, "unavailable");
 * ```
 */
export async function checkHealth(
  plugin: PluginCaller,
  options: CallOptions = {},
): Promise<HealthResult> {
  try {
    const result = check(healthResultSchema, await plugin.request("health", undefined, options));
    if (result.ok) return result.value;
    return { status: "unavailable", detail: { error: "invalid health answer" } };
  } catch (error) {
    return { status: "unavailable", detail: { error: (error as Error).message } };
  }
}

/** The client of an authenticator. */
export interface AuthenticatorClient {
  /** `authn.authenticate`. */
  authenticate(params: AuthenticateParams, options?: CallOptions): Promise<AuthenticateResult>;
}

/**
 * Make the client of an authenticator.
 *
 * @param plugin The plugin connection.
 * @returns The client.
 *
 * @example Extra fields never reach the plugin
 * ```ts
 * import assert from "node:assert/strict";
 * import { authenticatorClient } from "./clients.ts";
 *
 * let sent: unknown;
 * const plugin = {
 *   instance: "keys",
 *   request: (_method: string, params: unknown) => {
 *     sent = params;
 *     return Promise.resolve({ decision: "abstain" });
 *   },
 *   notify: () => {},
 * };
 * const request = { method: "GET", path: "/v1/models", cookie: "session=1" };
 * await authenticatorClient(plugin).authenticate({ credentials: {}, request });
 * assert.deepEqual(sent, { credentials: {}, request: { method: "GET", path: "/v1/models" } });
 * ```
 */
export function authenticatorClient(plugin: PluginCaller): AuthenticatorClient {
  return {
    authenticate: (params, options) => call(plugin, "authn.authenticate", params, options),
  };
}

/** The client of a rate limiter. */
export interface RateLimiterClient {
  /** `ratelimit.acquire`. */
  acquire(params: AcquireParams, options?: CallOptions): Promise<AcquireResult>;
  /** `ratelimit.settle`. */
  settle(params: SettleParams, options?: CallOptions): Promise<SettleResult>;
}

/**
 * Make the client of a rate limiter.
 *
 * @param plugin The plugin connection.
 * @returns The client.
 */
export function rateLimiterClient(plugin: PluginCaller): RateLimiterClient {
  return {
    acquire: (params, options) => call(plugin, "ratelimit.acquire", params, options),
    settle: (params, options) => call(plugin, "ratelimit.settle", params, options),
  };
}

/** The client of a cache provider. */
export interface CacheProviderClient {
  /** `cache.get`. */
  get(params: CacheGetParams, options?: CallOptions): Promise<CacheGetResult>;
  /** `cache.set`. */
  set(params: CacheSetParams, options?: CallOptions): Promise<CacheSetResult>;
  /** `cache.delete`. */
  delete(params: CacheDeleteParams, options?: CallOptions): Promise<CacheDeleteResult>;
  /** `cache.clear`. */
  clear(params: CacheClearParams, options?: CallOptions): Promise<CacheClearResult>;
}

/**
 * Make the client of a cache provider.
 *
 * @param plugin The plugin connection.
 * @returns The client.
 */
export function cacheProviderClient(plugin: PluginCaller): CacheProviderClient {
  return {
    get: (params, options) => call(plugin, "cache.get", params, options),
    set: (params, options) => call(plugin, "cache.set", params, options),
    delete: (params, options) => call(plugin, "cache.delete", params, options),
    clear: (params, options) => call(plugin, "cache.clear", params, options),
  };
}

/** The client of a prompt provider. */
export interface PromptProviderClient {
  /** `prompt.resolve`. */
  resolve(params: PromptResolveParams, options?: CallOptions): Promise<PromptResolveResult>;
}

/**
 * Make the client of a prompt provider.
 *
 * @param plugin The plugin connection.
 * @returns The client.
 */
export function promptProviderClient(plugin: PluginCaller): PromptProviderClient {
  return { resolve: (params, options) => call(plugin, "prompt.resolve", params, options) };
}

/** The client of a router. */
export interface RouterClient {
  /** `router.route`. */
  route(params: RouteParams, options?: CallOptions): Promise<RouteResult>;
  /** `router.feedback` (a notification). */
  feedback(params: FeedbackParams): void;
  /** `router.models`. */
  models(options?: CallOptions): Promise<ModelsResult>;
}

/**
 * Make the client of a router.
 *
 * @param plugin The plugin connection.
 * @returns The client.
 */
export function routerClient(plugin: PluginCaller): RouterClient {
  return {
    route: (params, options) => call(plugin, "router.route", params, options),
    feedback: (params) => notify(plugin, "router.feedback", params),
    models: (options) => call(plugin, "router.models", {}, options),
  };
}

/** Options of a streaming chat call. */
export interface ChatCallOptions extends CallOptions {
  /** Receives each `chat.completion.chunk`, in order, when streaming. */
  onChunk?: (chunk: Record<string, unknown>) => void;
}

/** The client of an upstream provider. */
export interface UpstreamProviderClient {
  /** `upstream.chat`; with `stream: true`, chunks go to `options.onChunk` first. */
  chat(params: UpstreamChatParams, options?: ChatCallOptions): Promise<UpstreamChatResult>;
  /** `upstream.embeddings`. */
  embeddings(
    params: UpstreamEmbeddingsParams,
    options?: CallOptions,
  ): Promise<UpstreamEmbeddingsResult>;
  /** `upstream.models`. */
  models(options?: CallOptions): Promise<UpstreamModelsResult>;
}

/**
 * Routes `upstream.chunk` notifications to the call they belong to. Pass its `dispatch` as
 * the process's `onNotification`, and the router to {@linkcode upstreamProviderClient}.
 */
export interface ChunkRouter {
  /** Hand a notification from the plugin to the matching call. */
  dispatch(method: string, params: unknown): void;
  /** Register a listener for a call id; returns the function that removes it. */
  listen(id: string | number, onChunk: (chunk: Record<string, unknown>) => void): () => void;
}

/**
 * Make a {@linkcode ChunkRouter}.
 *
 * @returns The router.
 *
 * @example Route a chunk to its call
 * ```ts
 * import assert from "node:assert/strict";
 * import { createChunkRouter } from "./clients.ts";
 *
 * const router = createChunkRouter();
 * const chunks: unknown[] = [];
 * router.listen(7, (chunk) => chunks.push(chunk));
 * router.dispatch("upstream.chunk", { id: 7, chunk: { object: "chat.completion.chunk" } });
 * assert.equal(chunks.length, 1);
 * ```
 */
export function createChunkRouter(): ChunkRouter {
  const listeners = new Map<string | number, (chunk: Record<string, unknown>) => void>();
  return {
    dispatch(method, params) {
      if (method !== "upstream.chunk") return;
      const parsed = check(upstreamChunkParamsSchema, params);
      if (parsed.ok) listeners.get(parsed.value.id)?.(parsed.value.chunk);
    },
    listen(id, onChunk) {
      listeners.set(id, onChunk);
      return () => listeners.delete(id);
    },
  };
}

/**
 * Make the client of an upstream provider.
 *
 * @param plugin The plugin connection.
 * @param chunks The router its process's notifications go through.
 * @returns The client.
 */
export function upstreamProviderClient(
  plugin: PluginCaller,
  chunks: ChunkRouter,
): UpstreamProviderClient {
  return {
    async chat(params, options = {}) {
      const { onChunk, ...rest } = options;
      let stop: (() => void) | undefined;
      try {
        const result = await call<UpstreamChatResult>(plugin, "upstream.chat", params, {
          ...rest,
          onId: (id) => {
            if (onChunk) stop = chunks.listen(id, onChunk);
          },
        });
        if (!params.stream && !("response" in result)) {
          throw new PluginError(
            "unavailable",
            `Plugin "${plugin.instance}" answered a non-streaming "upstream.chat" without "response"`,
            { reason: "invalid_result" },
          );
        }
        return result;
      } finally {
        stop?.();
      }
    },
    embeddings: (params, options) => call(plugin, "upstream.embeddings", params, options),
    models: (options) => call(plugin, "upstream.models", {}, options),
  };
}

/** The client of an observer. */
export interface ObserverClient {
  /**
   * `observer.emit` (a notification). Each event is checked on its own: an invalid one is
   * left out, never the whole batch.
   *
   * @returns How many events were left out as invalid.
   */
  emit(params: EmitParams): number;
}

/**
 * Make the client of an observer.
 *
 * @param plugin The plugin connection.
 * @returns The client.
 */
export function observerClient(plugin: PluginCaller): ObserverClient {
  return {
    emit(params) {
      const events: unknown[] = [];
      for (const event of params.events) {
        const checked = check(observerEventSchema, event);
        if (checked.ok) events.push(checked.value);
      }
      if (events.length > 0) plugin.notify("observer.emit", { events }, DEFERRED);
      return params.events.length - events.length;
    },
  };
}
