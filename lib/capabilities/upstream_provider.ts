/**
 * The `upstream_provider` capability: the upstream call itself.
 *
 * @module
 */

import * as z from "zod";
import { type MaybePromise, type Route, routeSchema, type Usage, usageSchema } from "./common.ts";
import type { CallContext } from "./context.ts";

/** The notification a streaming `upstream.chat` sends for each chunk, in order. */
export const CHUNK_METHOD = "upstream.chunk";

/** Params of `upstream.chat`. */
export interface UpstreamChatParams {
  /** Where to send it. */
  route: Route;
  /** The Chat Completions request body; the upstream replaces only `model`. */
  request: Record<string, unknown>;
  /** Whether to stream: chunks come as `upstream.chunk` notifications. */
  stream: boolean;
}

/** Result of `upstream.chat`: the response, or (streaming) the summary after the chunks. */
export type UpstreamChatResult =
  | { response: Record<string, unknown> }
  | { usage?: Usage; finish_reason?: string };

/** Params of the `upstream.chunk` notification (plugin to core). */
export interface UpstreamChunkParams {
  /** The id of the `upstream.chat` request. */
  id: string | number;
  /** A `chat.completion.chunk` object. */
  chunk: Record<string, unknown>;
}

/** Params of `upstream.embeddings`. */
export interface UpstreamEmbeddingsParams {
  /** Where to send it. */
  route: Route;
  /** The Embeddings request body. */
  request: Record<string, unknown>;
}

/** Result of `upstream.embeddings`. */
export interface UpstreamEmbeddingsResult {
  /** The Embeddings response body. */
  response: Record<string, unknown>;
}

/** Result of `upstream.models`: what the upstream serves. */
export interface UpstreamModelsResult {
  /** The upstream's models. */
  models: { id: string; owned_by: string }[];
}

/** The handlers of an upstream provider; `embeddings` and `models` are optional. */
export interface UpstreamProviderHandlers {
  /** Make a chat completion call; when streaming, send each chunk with `context.notify`. */
  chat(params: UpstreamChatParams, context: CallContext): MaybePromise<UpstreamChatResult>;
  /** Make an embeddings call. */
  embeddings?(
    params: UpstreamEmbeddingsParams,
    context: CallContext,
  ): MaybePromise<UpstreamEmbeddingsResult>;
  /** List the upstream's models (takes `{}`). */
  models?(params: Record<string, never>, context: CallContext): MaybePromise<UpstreamModelsResult>;
}

const body = z.record(z.string(), z.unknown());

/** Schema of {@linkcode UpstreamChatParams}. */
export const upstreamChatParamsSchema: z.ZodType<UpstreamChatParams> = z.object({
  route: routeSchema,
  request: body,
  stream: z.boolean(),
});

/** Schema of {@linkcode UpstreamChatResult}. */
export const upstreamChatResultSchema: z.ZodType<UpstreamChatResult> = z.union([
  z.object({ response: body }),
  z.object({ usage: usageSchema.optional(), finish_reason: z.string().optional() }),
]) as z.ZodType<UpstreamChatResult>;

/** Schema of {@linkcode UpstreamChunkParams}. */
export const upstreamChunkParamsSchema: z.ZodType<UpstreamChunkParams> = z.object({
  id: z.union([z.string(), z.number()]),
  chunk: body,
});

/** Schema of {@linkcode UpstreamEmbeddingsParams}. */
export const upstreamEmbeddingsParamsSchema: z.ZodType<UpstreamEmbeddingsParams> = z.object({
  route: routeSchema,
  request: body,
});

/** Schema of {@linkcode UpstreamEmbeddingsResult}. */
export const upstreamEmbeddingsResultSchema: z.ZodType<UpstreamEmbeddingsResult> = z.object({
  response: body,
});

/** Schema of {@linkcode UpstreamModelsResult}. */
export const upstreamModelsResultSchema: z.ZodType<UpstreamModelsResult> = z.object({
  models: z.array(z.object({ id: z.string().min(1), owned_by: z.string() })),
});
