/**
 * The seven capabilities of vulpes plugins: one params and one result type per method, the
 * handler map of each capability, the zod schemas that check them at runtime, and the
 * lifecycle messages (`initialize`, `health`, `shutdown`, `--describe`).
 *
 * @example Check params the way the plugin runtime does
 * ```ts
 * import assert from "node:assert/strict";
 * import { METHODS, parseParams } from "@vulpes/contract/capabilities";
 *
 * const method = METHODS["ratelimit.acquire"]!;
 * assert.equal(method.capability, "rate_limiter");
 * assert.throws(
 *   () => parseParams("ratelimit.acquire", method.params, { subject: "a", model: "m" }),
 *   /"estimated_tokens"/,
 * );
 * ```
 *
 * @module
 */

export {
  type ChatMessage,
  chatMessageSchema,
  type Empty,
  emptySchema,
  type Identity,
  identitySchema,
  type MaybePromise,
  type Route,
  routeSchema,
  type Usage,
  usageSchema,
} from "./common.ts";
export { type CallContext, type Logger } from "./context.ts";
export {
  CAPABILITIES,
  type CapabilityName,
  type HealthResult,
  healthResultSchema,
  type InitializeParams,
  initializeParamsSchema,
  type InitializeResult,
  initializeResultSchema,
  type InitializeSettings,
  type Manifest,
  manifestSchema,
  type PermissionGrant,
} from "./lifecycle.ts";
export {
  type AuthenticateParams,
  authenticateParamsSchema,
  type AuthenticateResult,
  authenticateResultSchema,
  type AuthenticatorHandlers,
} from "./authenticator.ts";
export {
  type AcquireParams,
  acquireParamsSchema,
  type AcquireResult,
  acquireResultSchema,
  type RateLimiterHandlers,
  type RateLimitState,
  type SettleParams,
  settleParamsSchema,
  type SettleResult,
  settleResultSchema,
} from "./rate_limiter.ts";
export {
  type CacheClearParams,
  cacheClearParamsSchema,
  type CacheClearResult,
  cacheClearResultSchema,
  type CacheDeleteParams,
  cacheDeleteParamsSchema,
  type CacheDeleteResult,
  cacheDeleteResultSchema,
  type CacheGetParams,
  cacheGetParamsSchema,
  type CacheGetResult,
  cacheGetResultSchema,
  type CacheProviderHandlers,
  type CacheSetParams,
  cacheSetParamsSchema,
  type CacheSetResult,
  cacheSetResultSchema,
} from "./cache_provider.ts";
export {
  type PromptProviderHandlers,
  type PromptReference,
  type PromptResolveParams,
  promptResolveParamsSchema,
  type PromptResolveResult,
  promptResolveResultSchema,
} from "./prompt_provider.ts";
export {
  type FeedbackParams,
  feedbackParamsSchema,
  modelsParamsSchema,
  type ModelsResult,
  modelsResultSchema,
  type RouteParams,
  routeParamsSchema,
  type RouteResult,
  routeResultSchema,
  type RouterHandlers,
} from "./router.ts";
export {
  CHUNK_METHOD,
  type UpstreamChatParams,
  upstreamChatParamsSchema,
  type UpstreamChatResult,
  upstreamChatResultSchema,
  type UpstreamChunkParams,
  upstreamChunkParamsSchema,
  type UpstreamEmbeddingsParams,
  upstreamEmbeddingsParamsSchema,
  type UpstreamEmbeddingsResult,
  upstreamEmbeddingsResultSchema,
  type UpstreamModelsResult,
  upstreamModelsResultSchema,
  type UpstreamProviderHandlers,
} from "./upstream_provider.ts";
export {
  type EmitParams,
  emitParamsSchema,
  OBSERVER_EVENT_TYPES,
  type ObserverEvent,
  observerEventSchema,
  type ObserverHandlers,
} from "./observer.ts";
export { type CapabilityHandlers, METHODS, methodsOf, type MethodSpec } from "./methods.ts";
export { check, formatPath, parseParams, summarizeIssues } from "./validate.ts";
export { SECRET_KEYWORD, type SecretField, secretFields } from "./secret_fields.ts";
