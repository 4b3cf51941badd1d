/**
 * Streamed chat completions: a writable SSE response body, assembling chunks into one
 * completion (for the cache and observers), and replaying a completion as chunks (a cache
 * hit for a streaming client).
 *
 * @module
 */

import { encodeSse } from "@vulpes/contract/openai";
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatToolCall,
  CompletionUsage,
} from "@vulpes/contract/openai";

/** The writing end of an SSE response body. */
export interface SseWriter {
  /** The response body. */
  body: ReadableStream<Uint8Array>;
  /** Send one `data:` event with a JSON value; false once the client has gone. */
  send(value: unknown): boolean;
  /** Send `data: [DONE]` and end the body. */
  done(): void;
  /** End the body without `[DONE]`. */
  close(): void;
  /** Resolves when the client cancels the body (disconnects). */
  cancelled: Promise<void>;
}

/**
 * Make an SSE response body to write into.
 *
 * @returns The writer.
 */
export function createSseWriter(): SseWriter {
  const encoder = new TextEncoder();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let open = true;
  let onCancel!: () => void;
  const cancelled = new Promise<void>((resolve) => (onCancel = resolve));
  const body = new ReadableStream<Uint8Array>({
    start: (c) => void (controller = c),
    cancel: () => {
      open = false;
      onCancel();
    },
  });
  function push(text: string): boolean {
    if (!open) return false;
    try {
      controller.enqueue(encoder.encode(text));
      return true;
    } catch {
      open = false;
      return false;
    }
  }
  function close(): void {
    if (!open) return;
    open = false;
    try {
      controller.close();
    } catch { /* cancelled */ }
  }
  return {
    body,
    send: (value) => push(encodeSse(JSON.stringify(value))),
    done() {
      push(encodeSse("[DONE]"));
      close();
    },
    close,
    cancelled,
  };
}

interface ChoiceState {
  index: number;
  role: string;
  content: string | null;
  refusal: string | null;
  toolCalls: ChatToolCall[];
  finishReason: string | null;
  logprobs: unknown;
}

/**
 * Assemble streamed chunks into the completion a non-streaming call would have returned.
 *
 * @param chunks The chunks, in order.
 * @param usage Usage from the upstream's summary, when no chunk carried it.
 * @returns The completion.
 */
export function assembleCompletion(
  chunks: readonly ChatCompletionChunk[],
  usage?: CompletionUsage,
): ChatCompletion {
  const first = chunks[0];
  const choices = new Map<number, ChoiceState>();
  let lastUsage: CompletionUsage | undefined = usage;
  let fingerprint: unknown;
  for (const chunk of chunks) {
    if (chunk.usage) lastUsage = chunk.usage;
    if (chunk.system_fingerprint) fingerprint = chunk.system_fingerprint;
    for (const choice of chunk.choices ?? []) {
      const state = choices.get(choice.index) ?? {
        index: choice.index,
        role: "assistant",
        content: null,
        refusal: null,
        toolCalls: [],
        finishReason: null,
        logprobs: null,
      };
      choices.set(choice.index, state);
      const delta = choice.delta ?? {};
      if (typeof delta.role === "string") state.role = delta.role;
      if (typeof delta.content === "string") state.content = (state.content ?? "") + delta.content;
      if (typeof delta.refusal === "string") state.refusal = (state.refusal ?? "") + delta.refusal;
      for (const piece of delta.tool_calls ?? []) mergeToolCall(state.toolCalls, piece);
      if (choice.finish_reason) state.finishReason = choice.finish_reason;
    }
  }
  const completion: ChatCompletion = {
    id: first?.id ?? `chatcmpl-${crypto.randomUUID()}`,
    object: "chat.completion",
    created: first?.created ?? Math.floor(Date.now() / 1000),
    model: first?.model ?? "unknown",
    choices: [...choices.values()].sort((a, b) => a.index - b.index).map((state) => ({
      index: state.index,
      message: {
        role: state.role,
        content: state.content,
        refusal: state.refusal,
        ...(state.toolCalls.length ? { tool_calls: state.toolCalls } : {}),
      },
      logprobs: null,
      finish_reason: state.finishReason,
    })),
  };
  if (fingerprint !== undefined) completion.system_fingerprint = fingerprint;
  if (lastUsage) completion.usage = lastUsage;
  return completion;
}

function mergeToolCall(
  calls: ChatToolCall[],
  piece: NonNullable<ChatCompletionChunk["choices"][number]["delta"]["tool_calls"]>[number],
): void {
  let call = calls[piece.index];
  if (!call) {
    call = { id: "", type: "function", function: { name: "", arguments: "" } };
    calls[piece.index] = call;
  }
  if (piece.id) call.id = piece.id;
  if (piece.function?.name) call.function.name += piece.function.name;
  if (piece.function?.arguments) call.function.arguments += piece.function.arguments;
}

/**
 * Replay a completion as stream chunks: one chunk per choice with the whole message, one
 * with its finish reason, and a last usage chunk when asked for.
 *
 * @param completion The completion (from the cache).
 * @param includeUsage Whether the client asked for `stream_options.include_usage`.
 * @returns The chunks.
 */
export function completionToChunks(
  completion: ChatCompletion,
  includeUsage: boolean,
): ChatCompletionChunk[] {
  const base = {
    id: completion.id,
    object: "chat.completion.chunk" as const,
    created: completion.created,
    model: completion.model,
  };
  const chunks: ChatCompletionChunk[] = [];
  for (const choice of completion.choices) {
    const { role, content, tool_calls } = choice.message;
    const delta: ChatCompletionChunk["choices"][number]["delta"] = {
      role,
      content: typeof content === "string" ? content : null,
    };
    if (tool_calls) {
      delta.tool_calls = tool_calls.map((call, index) => ({ index, ...call }));
    }
    chunks.push({ ...base, choices: [{ index: choice.index, delta, finish_reason: null }] });
    chunks.push({
      ...base,
      choices: [{ index: choice.index, delta: {}, finish_reason: choice.finish_reason }],
    });
  }
  if (includeUsage && completion.usage) {
    chunks.push({ ...base, choices: [], usage: completion.usage });
  }
  return chunks;
}
