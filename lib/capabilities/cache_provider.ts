/**
 * The `cache_provider` capability: answers that can be served again.
 *
 * @module
 */

import * as z from "zod";
import type { MaybePromise } from "./common.ts";
import type { CallContext } from "./context.ts";

/** Params of `cache.get`. */
export interface CacheGetParams {
  /** Chosen by the core, one per tenant (the dev gateway: `tenant:<tenant>`, or `no-tenant`); entries of one namespace are never visible from another. */
  namespace: string;
  /** The key, from lib's `cacheKey(request)`. */
  key: string;
}

/** Result of `cache.get`. */
export type CacheGetResult =
  | { hit: false }
  | { hit: true; value: unknown; age_ms: number };

/** Params of `cache.set`. */
export interface CacheSetParams {
  /** The tenant. */
  namespace: string;
  /** The key. */
  key: string;
  /** Any JSON value (a chat completion). */
  value: unknown;
  /** Time to live; the plugin's default (and its maximum) apply. */
  ttl_ms?: number;
}

/** Result of `cache.set`. */
export interface CacheSetResult {
  /** Whether the value was stored (it may be too large). */
  stored: boolean;
}

/** Params of `cache.delete`. */
export interface CacheDeleteParams {
  /** The tenant. */
  namespace: string;
  /** The key. */
  key: string;
}

/** Result of `cache.delete`. */
export interface CacheDeleteResult {
  /** Whether an entry was removed. */
  deleted: boolean;
}

/** Params of `cache.clear`. */
export interface CacheClearParams {
  /** The tenant whose entries go. */
  namespace: string;
}

/** Result of `cache.clear`. */
export interface CacheClearResult {
  /** How many entries were removed. */
  cleared: number;
}

/** The handlers of a cache provider; `delete` and `clear` are optional. */
export interface CacheProviderHandlers {
  /** Look an entry up. */
  get(params: CacheGetParams, context: CallContext): MaybePromise<CacheGetResult>;
  /** Store an entry. */
  set(params: CacheSetParams, context: CallContext): MaybePromise<CacheSetResult>;
  /** Remove one entry. */
  delete?(params: CacheDeleteParams, context: CallContext): MaybePromise<CacheDeleteResult>;
  /** Remove every entry of a namespace. */
  clear?(params: CacheClearParams, context: CallContext): MaybePromise<CacheClearResult>;
}

const namespace = z.string().min(1);
const key = z.string().min(1);

/** Schema of {@linkcode CacheGetParams}. */
export const cacheGetParamsSchema: z.ZodType<CacheGetParams> = z.object({ namespace, key });

/** Schema of {@linkcode CacheGetResult}. */
export const cacheGetResultSchema: z.ZodType<CacheGetResult> = z.discriminatedUnion("hit", [
  z.object({ hit: z.literal(false) }),
  z.object({ hit: z.literal(true), value: z.unknown(), age_ms: z.number().nonnegative() }),
]) as z.ZodType<CacheGetResult>;

/** Schema of {@linkcode CacheSetParams}. */
export const cacheSetParamsSchema: z.ZodType<CacheSetParams> = z.object({
  namespace,
  key,
  value: z.unknown().refine((value) => value !== undefined, "expected a JSON value"),
  ttl_ms: z.number().int().positive().optional(),
}) as z.ZodType<CacheSetParams>;

/** Schema of {@linkcode CacheSetResult}. */
export const cacheSetResultSchema: z.ZodType<CacheSetResult> = z.object({ stored: z.boolean() });

/** Schema of {@linkcode CacheDeleteParams}. */
export const cacheDeleteParamsSchema: z.ZodType<CacheDeleteParams> = z.object({ namespace, key });

/** Schema of {@linkcode CacheDeleteResult}. */
export const cacheDeleteResultSchema: z.ZodType<CacheDeleteResult> = z.object({
  deleted: z.boolean(),
});

/** Schema of {@linkcode CacheClearParams}. */
export const cacheClearParamsSchema: z.ZodType<CacheClearParams> = z.object({ namespace });

/** Schema of {@linkcode CacheClearResult}. */
export const cacheClearResultSchema: z.ZodType<CacheClearResult> = z.object({
  cleared: z.number().int().nonnegative(),
});
