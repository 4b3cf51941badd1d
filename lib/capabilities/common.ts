/**
 * Types shared by several capabilities.
 *
 * @module
 */

import * as z from "zod";

/** Who is calling, as established by an authenticator. */
export interface Identity {
  /** The caller: a user, a service or a key owner. */
  subject: string;
  /** The tenant the caller belongs to; the cache namespace and the unit of isolation. */
  tenant?: string;
  /** Groups for rules (rate limits, prompts, routes). */
  groups: string[];
  /** The id of the credential used, never the credential itself. */
  key_id?: string;
  /** Free-form attributes from the credential's record. */
  attributes?: Record<string, unknown>;
}

/** Token counts, in the OpenAI `usage` shape. */
export interface Usage {
  /** Tokens in the prompt. */
  prompt_tokens: number;
  /** Tokens in the completion (absent for embeddings). */
  completion_tokens?: number;
  /** Their sum. */
  total_tokens: number;
  /** Provider-specific detail (cached and reasoning tokens). */
  [key: string]: unknown;
}

/** One chat message, in the OpenAI Chat Completions shape; unknown fields are kept. */
export interface ChatMessage {
  /** `system`, `developer`, `user`, `assistant` or `tool`. */
  role: string;
  /** A string, an array of content parts, or null. */
  content?: unknown;
  /** Other fields (name, tool_calls, tool_call_id, …). */
  [key: string]: unknown;
}

/** One place to send a request, chosen by a router. */
export interface Route {
  /** The name of the upstream plugin instance that makes the call. */
  upstream: string;
  /** The model name to send upstream. */
  model: string;
  /** A stable id of the deployment, for feedback. */
  deployment?: string;
  /** Upstream-specific options, e.g. `base_url` of a discovered instance. */
  options?: Record<string, unknown>;
  /**
   * Try this route only after an attempt failed with one of these error types (e.g.
   * `["content_policy"]` for LiteLLM's content-policy fallbacks); absent: after any failure
   * worth another route (5xx, timeouts, rate limits, an unavailable upstream).
   */
  fallback_on?: string[];
}

/** Schema of {@linkcode Identity}. */
export const identitySchema: z.ZodType<Identity> = z.object({
  subject: z.string().min(1),
  tenant: z.string().min(1).optional(),
  groups: z.array(z.string()),
  key_id: z.string().optional(),
  attributes: z.record(z.string(), z.unknown()).optional(),
}) as z.ZodType<Identity>;

/** Schema of {@linkcode Usage}. */
export const usageSchema: z.ZodType<Usage> = z.looseObject({
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative().optional(),
  total_tokens: z.number().int().nonnegative(),
}) as z.ZodType<Usage>;

/** Schema of {@linkcode ChatMessage}. */
export const chatMessageSchema: z.ZodType<ChatMessage> = z.looseObject({
  role: z.string().min(1),
  content: z.unknown().optional(),
}) as z.ZodType<ChatMessage>;

/** Schema of {@linkcode Route}. */
export const routeSchema: z.ZodType<Route> = z.object({
  upstream: z.string().min(1),
  model: z.string().min(1),
  deployment: z.string().min(1).optional(),
  options: z.record(z.string(), z.unknown()).optional(),
  fallback_on: z.array(z.string().min(1)).min(1).optional(),
}) as z.ZodType<Route>;

/** A handler's result, synchronous or not. */
export type MaybePromise<T> = T | Promise<T>;

/** An empty object, the result of methods that only acknowledge. */
export type Empty = Record<string, never>;

/** Schema of {@linkcode Empty}; extra keys are ignored. */
export const emptySchema: z.ZodType<Empty> = z.object({}) as unknown as z.ZodType<Empty>;
