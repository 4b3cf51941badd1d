/**
 * Responses API response → Chat Completions response. Pure: no I/O. Also the pieces the
 * stream mapping shares: the finish reason and the usage.
 *
 * @module
 */

import type { Usage } from "@vulpes/contract/capabilities";
import { PluginError } from "@vulpes/contract/plugin";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The Chat Completions usage of a Responses usage: input and output tokens, with cached
 * input tokens and reasoning tokens in the details where Chat Completions keeps them.
 *
 * @param usage The `usage` of a response.
 * @returns The usage, or undefined when the response has none.
 */
export function usageOf(usage: unknown): Usage | undefined {
  if (!isObject(usage)) return undefined;
  const prompt = count(usage.input_tokens);
  const completion = count(usage.output_tokens);
  const total = typeof usage.total_tokens === "number"
    ? count(usage.total_tokens)
    : prompt + completion;
  const result: Usage = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: total,
  };
  const input = isObject(usage.input_tokens_details) ? usage.input_tokens_details : {};
  const output = isObject(usage.output_tokens_details) ? usage.output_tokens_details : {};
  result.prompt_tokens_details = { cached_tokens: count(input.cached_tokens) };
  result.completion_tokens_details = { reasoning_tokens: count(output.reasoning_tokens) };
  return result;
}

function count(value: unknown): number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : 0;
}

/**
 * The Chat Completions finish reason of a finished response.
 *
 * | status | `incomplete_details.reason` | finish reason |
 * |---|---|---|
 * | `completed`, with a function call | | `tool_calls` |
 * | `completed` | | `stop` |
 * | `incomplete` | `content_filter` | `content_filter` |
 * | `incomplete` | `max_output_tokens` or any other | `length` |
 *
 * @param response The response (its `status` and `incomplete_details`).
 * @param toolCalls Whether the output holds a function call.
 * @returns The finish reason.
 * @throws {PluginError} `upstream_error` for a failed, cancelled or unfinished response.
 */
export function finishReasonOf(response: Json, toolCalls: boolean): string {
  const status = response.status ?? "completed";
  if (status === "completed") return toolCalls ? "tool_calls" : "stop";
  if (status === "incomplete") {
    const details = isObject(response.incomplete_details) ? response.incomplete_details : {};
    return details.reason === "content_filter" ? "content_filter" : "length";
  }
  throw failedError(response);
}

/**
 * The error of a response whose status is `failed` (or any status but completed and
 * incomplete), with the upstream's message.
 *
 * @param response The response.
 * @returns The `upstream_error`.
 */
export function failedError(response: Json): PluginError {
  const error = isObject(response.error) ? response.error : {};
  const message = typeof error.message === "string" && error.message !== ""
    ? error.message
    : `the response ended with status ${JSON.stringify(response.status ?? null)}`;
  const data: Record<string, unknown> = { status: 502 };
  if (typeof error.code === "string") data.upstream_code = error.code;
  return new PluginError("upstream_error", `The upstream failed: ${message}`, data);
}

/** A function call of the output, as a Chat Completions tool call. */
export function toolCallOf(item: Json): Json {
  return {
    id: String(item.call_id ?? item.id ?? ""),
    type: "function",
    function: {
      name: String(item.name ?? ""),
      arguments: typeof item.arguments === "string" ? item.arguments : "",
    },
  };
}

/**
 * The chat completion of a Responses API response: the text of every output message joined,
 * refusals as `refusal`, function calls as `tool_calls`, reasoning items left out.
 *
 * @param response The response body.
 * @returns The `chat.completion` body.
 * @throws {PluginError} `upstream_error` when the body is not a response or the response
 * failed.
 */
export function chatCompletion(response: unknown): Json {
  if (!isObject(response) || !Array.isArray(response.output)) {
    throw new PluginError("upstream_error", "The upstream's answer is not a response object", {
      status: 502,
    });
  }
  let text = "";
  let refusal = "";
  const toolCalls: Json[] = [];
  for (const item of response.output) {
    if (!isObject(item)) continue;
    if (item.type === "function_call") toolCalls.push(toolCallOf(item));
    if (item.type !== "message" || !Array.isArray(item.content)) continue;
    for (const part of item.content) {
      if (isObject(part) && part.type === "output_text") text += String(part.text ?? "");
      if (isObject(part) && part.type === "refusal") refusal += String(part.refusal ?? "");
    }
  }
  const message: Json = {
    role: "assistant",
    content: text === "" && (toolCalls.length > 0 || refusal !== "") ? null : text,
    refusal: refusal === "" ? null : refusal,
  };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  const completion: Json = {
    id: String(response.id ?? ""),
    object: "chat.completion",
    created: typeof response.created_at === "number" ? Math.floor(response.created_at) : 0,
    model: String(response.model ?? ""),
    choices: [{
      index: 0,
      message,
      logprobs: null,
      finish_reason: finishReasonOf(response, toolCalls.length > 0),
    }],
  };
  const usage = usageOf(response.usage);
  if (usage) completion.usage = usage;
  if (typeof response.service_tier === "string") completion.service_tier = response.service_tier;
  return completion;
}
