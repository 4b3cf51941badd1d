/**
 * The OpenAI wire shapes this project reads and writes. Only the fields it relies on are
 * named; every object keeps unknown fields, because providers add their own.
 *
 * @module
 */

/** Token usage of a chat completion. */
export interface CompletionUsage {
  /** Tokens in the prompt. */
  prompt_tokens: number;
  /** Tokens in the completion. */
  completion_tokens: number;
  /** Their sum. */
  total_tokens: number;
  /** `{cached_tokens}` and others. */
  prompt_tokens_details?: { cached_tokens?: number; [key: string]: unknown };
  /** `{reasoning_tokens}` and others. */
  completion_tokens_details?: { reasoning_tokens?: number; [key: string]: unknown };
  /** Provider-specific fields. */
  [key: string]: unknown;
}

/** A tool call made by the assistant. */
export interface ChatToolCall {
  /** The call id, echoed by the tool result. */
  id: string;
  /** Always `function`. */
  type: "function";
  /** The function and its JSON arguments. */
  function: { name: string; arguments: string };
}

/** A chat message. */
export interface ChatCompletionMessage {
  /** `system`, `developer`, `user`, `assistant` or `tool`. */
  role: string;
  /** Text, content parts, or null (assistant with tool calls). */
  content?: string | Record<string, unknown>[] | null;
  /** The assistant's tool calls. */
  tool_calls?: ChatToolCall[];
  /** The call a tool message answers. */
  tool_call_id?: string;
  /** Other fields. */
  [key: string]: unknown;
}

/** A Chat Completions request body. */
export interface ChatCompletionRequest {
  /** The model. */
  model: string;
  /** The conversation. */
  messages: ChatCompletionMessage[];
  /** Whether to stream. */
  stream?: boolean | null;
  /** Streaming options; `include_usage` adds a last chunk with usage. */
  stream_options?: { include_usage?: boolean; [key: string]: unknown } | null;
  /** Other parameters (temperature, tools, response_format, …). */
  [key: string]: unknown;
}

/** One choice of a chat completion. */
export interface ChatCompletionChoice {
  /** Its index. */
  index: number;
  /** The message. */
  message: ChatCompletionMessage;
  /** `stop`, `length`, `tool_calls`, `content_filter`. */
  finish_reason: string | null;
  /** Other fields (logprobs). */
  [key: string]: unknown;
}

/** A chat completion (`object: "chat.completion"`). */
export interface ChatCompletion {
  /** Its id. */
  id: string;
  /** Always `chat.completion`. */
  object: "chat.completion";
  /** Unix seconds. */
  created: number;
  /** The model that answered. */
  model: string;
  /** The choices. */
  choices: ChatCompletionChoice[];
  /** Token usage. */
  usage?: CompletionUsage;
  /** Other fields (system_fingerprint, service_tier). */
  [key: string]: unknown;
}

/** A streamed delta. */
export interface ChatCompletionChunkDelta {
  /** Present in the first chunk. */
  role?: string;
  /** Text to append. */
  content?: string | null;
  /** Tool call pieces: index, then id/name once and arguments in pieces. */
  tool_calls?: {
    index: number;
    id?: string;
    type?: "function";
    function?: { name?: string; arguments?: string };
  }[];
  /** Other fields (refusal, reasoning). */
  [key: string]: unknown;
}

/** A streamed chunk (`object: "chat.completion.chunk"`). */
export interface ChatCompletionChunk {
  /** The completion id (the same in every chunk). */
  id: string;
  /** Always `chat.completion.chunk`. */
  object: "chat.completion.chunk";
  /** Unix seconds. */
  created: number;
  /** The model. */
  model: string;
  /** Deltas; empty in the usage chunk. */
  choices: { index: number; delta: ChatCompletionChunkDelta; finish_reason: string | null }[];
  /** Present only in the last chunk, when `stream_options.include_usage` is set. */
  usage?: CompletionUsage | null;
  /** Other fields. */
  [key: string]: unknown;
}

/** An OpenAI-style error body. */
export interface OpenAIErrorBody {
  /** The error. */
  error: {
    /** What went wrong. */
    message: string;
    /** `invalid_request_error`, `authentication_error`, `rate_limit_error`, … */
    type: string;
    /** The parameter at fault, or null. */
    param: string | null;
    /** A machine-readable code, or null. */
    code: string | null;
  };
}
