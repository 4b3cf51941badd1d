/**
 * The `rate_limiter` capability: how much a caller may call.
 *
 * @module
 */

import * as z from "zod";
import type { MaybePromise } from "./common.ts";
import type { CallContext } from "./context.ts";

/** Params of `ratelimit.acquire`. */
export interface AcquireParams {
  /** The caller's subject. */
  subject: string;
  /** The caller's tenant. */
  tenant?: string;
  /** The caller's groups, for rules that match on a group. */
  groups?: string[];
  /** The public model requested. */
  model: string;
  /** Tokens the request is expected to use (prompt estimate plus max completion). */
  estimated_tokens: number;
}

/** The state of one limit, for the `x-ratelimit-*` headers. */
export interface RateLimitState {
  /** The rule's name. */
  name: string;
  /** What the limit counts. */
  unit: "requests" | "tokens";
  /** The limit per window. */
  limit: number;
  /** What is left in the current window. */
  remaining: number;
  /** Milliseconds until the window resets. */
  reset_ms: number;
}

/** Result of `ratelimit.acquire`. */
export interface AcquireResult {
  /** Whether the request may go on. */
  allowed: boolean;
  /** An opaque handle to settle the reservation with, when allowed. */
  reservation?: string;
  /** When refused: how long to wait. */
  retry_after_ms?: number;
  /** Every limit that applied. */
  limits: RateLimitState[];
}

/** Params of `ratelimit.settle`. */
export interface SettleParams {
  /** The handle from `ratelimit.acquire`. */
  reservation: string;
  /** Tokens actually used. */
  actual_tokens: number;
}

/** Result of `ratelimit.settle`. */
export interface SettleResult {
  /** Whether the reservation was found (it may have expired with its window). */
  settled: boolean;
}

/** The handlers of a rate limiter. */
export interface RateLimiterHandlers {
  /** Reserve one request and the estimated tokens, or refuse. */
  acquire(params: AcquireParams, context: CallContext): MaybePromise<AcquireResult>;
  /** Correct a reservation to the tokens actually used. */
  settle(params: SettleParams, context: CallContext): MaybePromise<SettleResult>;
}

const tokens = z.number().int().nonnegative();

/** Schema of {@linkcode AcquireParams}. */
export const acquireParamsSchema: z.ZodType<AcquireParams> = z.object({
  subject: z.string().min(1),
  tenant: z.string().min(1).optional(),
  groups: z.array(z.string()).optional(),
  model: z.string().min(1),
  estimated_tokens: tokens,
}) as z.ZodType<AcquireParams>;

/** Schema of {@linkcode AcquireResult}. */
export const acquireResultSchema: z.ZodType<AcquireResult> = z.object({
  allowed: z.boolean(),
  reservation: z.string().optional(),
  retry_after_ms: z.number().nonnegative().optional(),
  limits: z.array(z.object({
    name: z.string(),
    unit: z.enum(["requests", "tokens"]),
    limit: z.number().nonnegative(),
    remaining: z.number(),
    reset_ms: z.number().nonnegative(),
  })),
}) as z.ZodType<AcquireResult>;

/** Schema of {@linkcode SettleParams}. */
export const settleParamsSchema: z.ZodType<SettleParams> = z.object({
  reservation: z.string().min(1),
  actual_tokens: tokens,
}) as z.ZodType<SettleParams>;

/** Schema of {@linkcode SettleResult}. */
export const settleResultSchema: z.ZodType<SettleResult> = z.object({ settled: z.boolean() });
