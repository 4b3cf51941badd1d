/**
 * The `observer` capability: what is recorded.
 *
 * @module
 */

import * as z from "zod";
import { type MaybePromise, type Route, routeSchema, type Usage, usageSchema } from "./common.ts";
import type { CallContext } from "./context.ts";

/** The kinds of event the core emits. */
export const OBSERVER_EVENT_TYPES = [
  "request.completed",
  "request.failed",
  "request.rejected",
  "cache.hit",
  "upstream.attempt",
] as const;

/** One observed event. */
export interface ObserverEvent {
  /** What happened. */
  type: typeof OBSERVER_EVENT_TYPES[number];
  /** When, as an RFC 3339 timestamp. */
  time: string;
  /** The gateway's request id (also sent to the client as `x-request-id`). */
  request_id: string;
  /** The caller's tenant. */
  tenant?: string;
  /** The caller's subject. */
  subject?: string;
  /** The public model requested. */
  model?: string;
  /** The route of an attempt or of the final answer. */
  route?: Route;
  /** The HTTP status answered (or the upstream's, for an attempt). */
  status?: number;
  /** Total time. */
  latency_ms?: number;
  /** Time to first token, for streams. */
  ttft_ms?: number;
  /** Tokens used. */
  usage?: Usage;
  /** The error, for failures and rejections. */
  error?: { type: string; message: string };
  /** The client's W3C trace context, when it sent one. */
  traceparent?: string;
  /** Request and response bodies, only when the core captures payloads. */
  payload?: { request?: unknown; response?: unknown };
}

/** Params of the `observer.emit` notification. */
export interface EmitParams {
  /** A batch of events, oldest first. */
  events: ObserverEvent[];
}

/** The handlers of an observer. */
export interface ObserverHandlers {
  /** Take a batch of events (a notification: nothing is answered). */
  emit(params: EmitParams, context: CallContext): MaybePromise<void>;
}

/** Schema of {@linkcode ObserverEvent}; unknown fields are kept for newer cores. */
export const observerEventSchema: z.ZodType<ObserverEvent> = z.looseObject({
  type: z.enum(OBSERVER_EVENT_TYPES),
  time: z.string().min(1),
  request_id: z.string().min(1),
  tenant: z.string().optional(),
  subject: z.string().optional(),
  model: z.string().optional(),
  route: routeSchema.optional(),
  status: z.number().int().optional(),
  latency_ms: z.number().nonnegative().optional(),
  ttft_ms: z.number().nonnegative().optional(),
  usage: usageSchema.optional(),
  error: z.object({ type: z.string(), message: z.string() }).optional(),
  traceparent: z.string().optional(),
  payload: z.object({ request: z.unknown().optional(), response: z.unknown().optional() })
    .optional(),
}) as z.ZodType<ObserverEvent>;

/** Schema of {@linkcode EmitParams}. */
export const emitParamsSchema: z.ZodType<EmitParams> = z.object({
  events: z.array(observerEventSchema),
});
