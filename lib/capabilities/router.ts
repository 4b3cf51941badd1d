/**
 * The `router` capability: which upstream serves the model.
 *
 * @module
 */

import * as z from "zod";
import { type MaybePromise, type Route, routeSchema, type Usage, usageSchema } from "./common.ts";
import type { CallContext } from "./context.ts";

/** Params of `router.route`. */
export interface RouteParams {
  /** The public model requested. */
  model: string;
  /** Who is calling, as far as routing needs. */
  identity: {
    /** The caller's tenant. */
    tenant?: string;
    /** The caller's groups. */
    groups: string[];
  };
  /** What routing needs of the request. */
  request: {
    /** Whether the client streams. */
    stream: boolean;
    /** Estimated tokens, for context-window and TPM decisions. */
    estimated_tokens: number;
    /** Tags for tag-based routing. */
    tags?: string[];
  };
}

/** Result of `router.route`: every route to try, in order. */
export interface RouteResult {
  /** Routes in fallback order; at least one. */
  routes: Route[];
}

/** Params of `router.feedback` (a notification): how an attempt on a route went. */
export interface FeedbackParams {
  /** The route's deployment, when it had one. */
  deployment?: string;
  /** The route's upstream. */
  upstream: string;
  /** The route's model. */
  model: string;
  /** How it went. */
  outcome: "success" | "error" | "rate_limited" | "timeout";
  /** The upstream's HTTP status, when there was one. */
  status?: number;
  /** Total time of the attempt. */
  latency_ms: number;
  /** Time to first token, for streams. */
  ttft_ms?: number;
  /** Tokens used. */
  usage?: Usage;
  /** The upstream's retry hint. */
  retry_after_ms?: number;
  /**
   * Why the attempt failed: the plugin error type (`upstream_error`, `bad_request`, …), or
   * `content_policy` when the upstream refused the content.
   */
  error_type?: string;
}

/** Result of `router.models`. */
export interface ModelsResult {
  /** The public models served. */
  models: { id: string; owned_by: string }[];
}

/** The handlers of a router; `feedback` is optional. */
export interface RouterHandlers {
  /** Choose the routes for a request. */
  route(params: RouteParams, context: CallContext): MaybePromise<RouteResult>;
  /** Learn from an attempt (a notification: nothing is answered). */
  feedback?(params: FeedbackParams, context: CallContext): MaybePromise<void>;
  /** List the public models. */
  models(params: Record<string, never>, context: CallContext): MaybePromise<ModelsResult>;
}

/** Schema of {@linkcode RouteParams}. */
export const routeParamsSchema: z.ZodType<RouteParams> = z.object({
  model: z.string().min(1),
  identity: z.object({ tenant: z.string().min(1).optional(), groups: z.array(z.string()) }),
  request: z.object({
    stream: z.boolean(),
    estimated_tokens: z.number().int().nonnegative(),
    tags: z.array(z.string()).optional(),
  }),
}) as z.ZodType<RouteParams>;

/** Schema of {@linkcode RouteResult}. */
export const routeResultSchema: z.ZodType<RouteResult> = z.object({
  routes: z.array(routeSchema).min(1),
});

/** Schema of {@linkcode FeedbackParams}. */
export const feedbackParamsSchema: z.ZodType<FeedbackParams> = z.object({
  deployment: z.string().optional(),
  upstream: z.string().min(1),
  model: z.string().min(1),
  outcome: z.enum(["success", "error", "rate_limited", "timeout"]),
  status: z.number().int().optional(),
  latency_ms: z.number().nonnegative(),
  ttft_ms: z.number().nonnegative().optional(),
  usage: usageSchema.optional(),
  retry_after_ms: z.number().nonnegative().optional(),
  error_type: z.string().min(1).optional(),
}) as z.ZodType<FeedbackParams>;

/** Schema of the (empty) params of `router.models`. */
export const modelsParamsSchema: z.ZodType<Record<string, never>> = z.object(
  {},
) as unknown as z.ZodType<
  Record<string, never>
>;

/** Schema of {@linkcode ModelsResult}. */
export const modelsResultSchema: z.ZodType<ModelsResult> = z.object({
  models: z.array(z.object({ id: z.string().min(1), owned_by: z.string() })),
});
