/**
 * The `prompt_provider` capability: which prompt context or template applies.
 *
 * @module
 */

import * as z from "zod";
import {
  type ChatMessage,
  chatMessageSchema,
  type Identity,
  identitySchema,
  type MaybePromise,
} from "./common.ts";
import type { CallContext } from "./context.ts";

/** A prompt reference, in the shape of the OpenAI Responses API's `prompt`. */
export interface PromptReference {
  /** The prompt's id. */
  id: string;
  /** A version or label; absent means the provider's default. */
  version?: string;
  /** Values for the template's variables. */
  variables?: Record<string, unknown>;
}

/** Params of `prompt.resolve`. */
export interface PromptResolveParams {
  /** Who is calling. */
  identity: Identity;
  /** The public model requested. */
  model: string;
  /** The request's messages, after earlier prompt providers. */
  messages: ChatMessage[];
  /** The prompt the request selected, if any. */
  prompt?: PromptReference;
}

/** Result of `prompt.resolve`. */
export interface PromptResolveResult {
  /** The messages to use from now on. */
  messages: ChatMessage[];
  /** What was applied, in order. */
  applied: { id: string; version?: string }[];
}

/** The handlers of a prompt provider. */
export interface PromptProviderHandlers {
  /** Rewrite the messages: inject context, render a template. */
  resolve(params: PromptResolveParams, context: CallContext): MaybePromise<PromptResolveResult>;
}

/** Schema of {@linkcode PromptResolveParams}. */
export const promptResolveParamsSchema: z.ZodType<PromptResolveParams> = z.object({
  identity: identitySchema,
  model: z.string().min(1),
  messages: z.array(chatMessageSchema),
  prompt: z.object({
    id: z.string().min(1),
    version: z.string().min(1).optional(),
    variables: z.record(z.string(), z.unknown()).optional(),
  }).optional(),
}) as z.ZodType<PromptResolveParams>;

/** Schema of {@linkcode PromptResolveResult}. */
export const promptResolveResultSchema: z.ZodType<PromptResolveResult> = z.object({
  messages: z.array(chatMessageSchema),
  applied: z.array(z.object({ id: z.string(), version: z.string().optional() })),
}) as z.ZodType<PromptResolveResult>;
