/**
 * The method table: which capability each method belongs to, its handler name, and the
 * schemas of its params and result.
 *
 * @module
 */

import type * as z from "zod";
import type { AuthenticatorHandlers } from "./authenticator.ts";
import { authenticateParamsSchema, authenticateResultSchema } from "./authenticator.ts";
import type { CacheProviderHandlers } from "./cache_provider.ts";
import {
  cacheClearParamsSchema,
  cacheClearResultSchema,
  cacheDeleteParamsSchema,
  cacheDeleteResultSchema,
  cacheGetParamsSchema,
  cacheGetResultSchema,
  cacheSetParamsSchema,
  cacheSetResultSchema,
} from "./cache_provider.ts";
import type { CapabilityName } from "./lifecycle.ts";
import type { ObserverHandlers } from "./observer.ts";
import { emitParamsSchema } from "./observer.ts";
import type { PromptProviderHandlers } from "./prompt_provider.ts";
import { promptResolveParamsSchema, promptResolveResultSchema } from "./prompt_provider.ts";
import type { RateLimiterHandlers } from "./rate_limiter.ts";
import {
  acquireParamsSchema,
  acquireResultSchema,
  settleParamsSchema,
  settleResultSchema,
} from "./rate_limiter.ts";
import type { RouterHandlers } from "./router.ts";
import {
  feedbackParamsSchema,
  modelsParamsSchema,
  modelsResultSchema,
  routeParamsSchema,
  routeResultSchema,
} from "./router.ts";
import type { UpstreamProviderHandlers } from "./upstream_provider.ts";
import {
  upstreamChatParamsSchema,
  upstreamChatResultSchema,
  upstreamEmbeddingsParamsSchema,
  upstreamEmbeddingsResultSchema,
  upstreamModelsResultSchema,
} from "./upstream_provider.ts";

/** A plugin's handlers, one map per capability it declares. */
export interface CapabilityHandlers {
  /** Handlers of `authn.*`. */
  authenticator?: AuthenticatorHandlers;
  /** Handlers of `ratelimit.*`. */
  rate_limiter?: RateLimiterHandlers;
  /** Handlers of `cache.*`. */
  cache_provider?: CacheProviderHandlers;
  /** Handlers of `prompt.*`. */
  prompt_provider?: PromptProviderHandlers;
  /** Handlers of `router.*`. */
  router?: RouterHandlers;
  /** Handlers of `upstream.*`. */
  upstream_provider?: UpstreamProviderHandlers;
  /** Handlers of `observer.*`. */
  observer?: ObserverHandlers;
}

/** How one capability method is called and checked. */
export interface MethodSpec {
  /** The capability it belongs to. */
  capability: CapabilityName;
  /** The name of its handler in the capability's handler map. */
  handler: string;
  /** Whether it is a notification (never answered). */
  notification: boolean;
  /** Whether a plugin of the capability may leave it out. */
  optional: boolean;
  /** Schema of its params. */
  params: z.ZodType;
  /** Schema of its result (absent for notifications). */
  result?: z.ZodType;
}

function spec(
  capability: CapabilityName,
  handler: string,
  params: z.ZodType,
  result: z.ZodType | undefined,
  flags: { optional?: boolean } = {},
): MethodSpec {
  const base = { capability, handler, params, optional: flags.optional ?? false };
  return result ? { ...base, notification: false, result } : { ...base, notification: true };
}

/** Every capability method of protocol version 1. */
export const METHODS: Readonly<Record<string, MethodSpec>> = {
  "authn.authenticate": spec(
    "authenticator",
    "authenticate",
    authenticateParamsSchema,
    authenticateResultSchema,
  ),
  "ratelimit.acquire": spec("rate_limiter", "acquire", acquireParamsSchema, acquireResultSchema),
  "ratelimit.settle": spec("rate_limiter", "settle", settleParamsSchema, settleResultSchema),
  "cache.get": spec("cache_provider", "get", cacheGetParamsSchema, cacheGetResultSchema),
  "cache.set": spec("cache_provider", "set", cacheSetParamsSchema, cacheSetResultSchema),
  "cache.delete": spec(
    "cache_provider",
    "delete",
    cacheDeleteParamsSchema,
    cacheDeleteResultSchema,
    {
      optional: true,
    },
  ),
  "cache.clear": spec("cache_provider", "clear", cacheClearParamsSchema, cacheClearResultSchema, {
    optional: true,
  }),
  "prompt.resolve": spec(
    "prompt_provider",
    "resolve",
    promptResolveParamsSchema,
    promptResolveResultSchema,
  ),
  "router.route": spec("router", "route", routeParamsSchema, routeResultSchema),
  "router.feedback": spec("router", "feedback", feedbackParamsSchema, undefined, {
    optional: true,
  }),
  "router.models": spec("router", "models", modelsParamsSchema, modelsResultSchema),
  "upstream.chat": spec(
    "upstream_provider",
    "chat",
    upstreamChatParamsSchema,
    upstreamChatResultSchema,
  ),
  "upstream.embeddings": spec(
    "upstream_provider",
    "embeddings",
    upstreamEmbeddingsParamsSchema,
    upstreamEmbeddingsResultSchema,
    { optional: true },
  ),
  "upstream.models": spec(
    "upstream_provider",
    "models",
    modelsParamsSchema,
    upstreamModelsResultSchema,
    { optional: true },
  ),
  "observer.emit": spec("observer", "emit", emitParamsSchema, undefined),
};

/**
 * List the methods of a capability.
 *
 * @param capability A capability name.
 * @returns Its method names, e.g. `["ratelimit.acquire", "ratelimit.settle"]`.
 *
 * @example Methods of the rate limiter
 * ```ts
 * import assert from "node:assert/strict";
 * import { methodsOf } from "./methods.ts";
 *
 * assert.deepEqual(methodsOf("rate_limiter"), ["ratelimit.acquire", "ratelimit.settle"]);
 * ```
 */
export function methodsOf(capability: CapabilityName): string[] {
  return Object.entries(METHODS)
    .filter(([, method]) => method.capability === capability)
    .map(([name]) => name);
}
