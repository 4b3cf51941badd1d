/**
 * Responses API stream events → `chat.completion.chunk` sequence. Pure apart from the
 * events it reads: {@linkcode createStreamMapper} turns one event into the chunks it stands
 * for; {@linkcode relayEvents} drives it over a stream.
 *
 * @module
 */

import type { Usage } from "@vulpes/contract/capabilities";
import type { SseEvent } from "@vulpes/contract/openai";
import { PluginError } from "@vulpes/contract/plugin";
import { failedError, finishReasonOf, usageOf } from "./_response.ts";

type Json = Record<string, unknown>;

/** What a finished stream tells the core: the result of a streaming `upstream.chat`. */
export interface StreamSummary {
  /** The usage of the response, when the upstream reported it. */
  usage?: Usage;
  /** The Chat Completions finish reason. */
  finish_reason?: string;
}

/** Turns the events of one Responses stream into chat completion chunks. */
export interface StreamMapper {
  /** The chunks one event stands for, in order (often none). */
  push(event: SseEvent): Json[];
  /** Whether `response.completed` or `response.incomplete` was seen. */
  readonly done: boolean;
  /** The summary; throws when the stream ended before it completed. */
  finish(): StreamSummary;
}

interface Streamed {
  /** The tool call's index in the Chat Completions stream (tool calls only). */
  index: number;
  /** What was sent so far: arguments, or text. */
  sent: string;
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parse(event: SseEvent): Json {
  try {
    const value = JSON.parse(event.data);
    if (isObject(value)) return value;
  } catch { /* reported below */ }
  throw new PluginError("upstream_error", "The upstream sent a stream event that is not JSON", {
    status: 502,
  });
}

/**
 * Make the mapper of one stream.
 *
 * @param now The clock (epoch milliseconds), for `created` when the stream does not say.
 * @returns The mapper.
 */
export function createStreamMapper(now: () => number = Date.now): StreamMapper {
  const meta = { id: "", model: "", created: Math.floor(now() / 1000) };
  const tools = new Map<string, Streamed>();
  const texts = new Map<string, Streamed>();
  let roleSent = false;
  let toolCount = 0;
  let summary: StreamSummary | undefined;

  function chunk(delta: Json, finishReason: string | null = null): Json {
    if (!roleSent) {
      delta = { role: "assistant", ...delta };
      roleSent = true;
    }
    return {
      id: meta.id,
      object: "chat.completion.chunk",
      created: meta.created,
      model: meta.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    };
  }

  function learn(response: unknown): void {
    if (!isObject(response)) return;
    if (typeof response.id === "string") meta.id = response.id;
    if (typeof response.model === "string") meta.model = response.model;
    if (typeof response.created_at === "number") meta.created = Math.floor(response.created_at);
  }

  function toolOf(data: Json): Streamed | undefined {
    return tools.get(String(data.item_id)) ?? tools.get(`#${data.output_index}`);
  }

  function startTool(item: Json, outputIndex: unknown): Json[] {
    const sent = typeof item.arguments === "string" ? item.arguments : "";
    const tool = { index: toolCount++, sent };
    if (typeof item.id === "string") tools.set(item.id, tool);
    tools.set(`#${outputIndex}`, tool);
    const call = {
      index: tool.index,
      id: String(item.call_id ?? item.id ?? ""),
      type: "function",
      function: { name: String(item.name ?? ""), arguments: tool.sent },
    };
    return [chunk({ tool_calls: [call] })];
  }

  /** The rest of a text or arguments when the `done` event holds more than the deltas did. */
  function rest(streamed: Streamed, full: unknown): string {
    if (typeof full !== "string" || !full.startsWith(streamed.sent)) return "";
    const missing = full.slice(streamed.sent.length);
    streamed.sent = full;
    return missing;
  }

  function toolArguments(data: Json, full: unknown, delta?: string): Json[] {
    const tool = toolOf(data);
    if (!tool) return [];
    const missing = delta ?? rest(tool, full);
    if (delta !== undefined) tool.sent += delta;
    if (missing === "") return [];
    return [chunk({ tool_calls: [{ index: tool.index, function: { arguments: missing } }] })];
  }

  function text(data: Json, field: "content" | "refusal", full: unknown, delta?: string): Json[] {
    const key = `${field}:${data.item_id}:${data.content_index}`;
    const streamed = texts.get(key) ?? { index: 0, sent: "" };
    texts.set(key, streamed);
    const missing = delta ?? rest(streamed, full);
    if (delta !== undefined) streamed.sent += delta;
    return missing === "" ? [] : [chunk({ [field]: missing })];
  }

  function end(response: Json, status: string): Json[] {
    learn(response);
    const finishReason = finishReasonOf({ ...response, status }, toolCount > 0);
    summary = { finish_reason: finishReason };
    const chunks = [chunk({}, finishReason)];
    const usage = usageOf(response.usage);
    if (usage) {
      summary.usage = usage;
      chunks.push({ ...chunk({}), choices: [], usage });
    }
    return chunks;
  }

  function push(event: SseEvent): Json[] {
    if (summary || event.data === "[DONE]") return [];
    const data = parse(event);
    const type = typeof data.type === "string" ? data.type : event.event;
    const item = isObject(data.item) ? data.item : {};
    const delta = typeof data.delta === "string" ? data.delta : "";
    switch (type) {
      case "response.created":
      case "response.in_progress":
      case "response.queued":
        learn(data.response);
        return roleSent ? [] : [chunk({ content: "" })];
      case "response.output_item.added":
        return item.type === "function_call" ? startTool(item, data.output_index) : [];
      case "response.function_call_arguments.delta":
        return toolArguments(data, undefined, delta);
      case "response.function_call_arguments.done":
        return toolArguments(data, data.arguments);
      case "response.output_item.done":
        if (item.type !== "function_call") return [];
        if (!toolOf({ item_id: item.id, output_index: data.output_index })) {
          return startTool(item, data.output_index);
        }
        return toolArguments({ item_id: item.id, output_index: data.output_index }, item.arguments);
      case "response.output_text.delta":
        return text(data, "content", undefined, delta);
      case "response.output_text.done":
        return text(data, "content", data.text);
      case "response.refusal.delta":
        return text(data, "refusal", undefined, delta);
      case "response.refusal.done":
        return text(data, "refusal", data.refusal);
      case "response.completed":
        return end(isObject(data.response) ? data.response : {}, "completed");
      case "response.incomplete":
        return end(isObject(data.response) ? data.response : {}, "incomplete");
      case "response.failed":
        throw failedError(isObject(data.response) ? data.response : { status: "failed" });
      case "error":
        throw streamError(data);
      default:
        return [];
    }
  }

  return {
    push,
    get done() {
      return summary !== undefined;
    },
    finish() {
      if (!summary) {
        throw new PluginError(
          "upstream_error",
          "The upstream closed the stream before it completed",
          { status: 502 },
        );
      }
      return summary;
    },
  };
}

function streamError(data: Json): PluginError {
  // Some servers nest the error ({"type":"error","error":{…}}); the documented event is flat.
  const error = isObject(data.error) ? data.error : data;
  const message = typeof error.message === "string" && error.message !== ""
    ? error.message
    : "no message";
  const detail: Record<string, unknown> = { status: 502 };
  if (typeof error.code === "string") detail.upstream_code = error.code;
  return new PluginError("upstream_error", `The upstream reported an error: ${message}`, detail);
}

/**
 * Relay a Responses event stream as chat completion chunks, stopping at the end of the
 * response.
 *
 * @param events The server-sent events of the upstream.
 * @param onChunk Receives each chunk, in order.
 * @param now The clock.
 * @returns The finish reason and usage.
 * @throws {PluginError} `upstream_error` for an `error` or `response.failed` event, an event
 * that is not JSON, or a stream that ends before the response does; whatever reading throws.
 */
export async function relayEvents(
  events: AsyncIterable<SseEvent>,
  onChunk: (chunk: Json) => void,
  now: () => number = Date.now,
): Promise<StreamSummary> {
  const mapper = createStreamMapper(now);
  const iterator = events[Symbol.asyncIterator]();
  try {
    while (!mapper.done) {
      let step: IteratorResult<SseEvent>;
      try {
        step = await iterator.next();
      } catch (error) {
        throw dropped(error);
      }
      if (step.done) break;
      for (const chunk of mapper.push(step.value)) onChunk(chunk);
    }
  } finally {
    // Stop reading (and release the connection) once the response is complete or failed.
    await iterator.return?.();
  }
  return mapper.finish();
}

/**
 * A connection that broke while reading is a stream closed before it completed; timeouts and
 * cancellation stay what they are.
 */
function dropped(error: unknown): unknown {
  if (
    error instanceof PluginError && error.type === "upstream_error" &&
    error.data.reason === "connection_broken"
  ) {
    return new PluginError(
      "upstream_error",
      "The upstream closed the stream before it completed",
      { status: 502, detail: error.message },
    );
  }
  return error;
}
