/**
 * Fake OpenAI-compatible servers over real HTTP, scriptable per test: replies queued per path
 * (errors, headers, raw or malformed bodies, SSE with pacing, dropped connections, hangs),
 * and deterministic default answers for chat completions, the Responses API, embeddings and
 * models.
 *
 * Longer than the house limit: the server and its four default endpoints are one public
 * module whose parts share the reply machinery; the Responses API answers are split into
 * small functions at the end.
 *
 * @module
 */

import { encodeSse } from "../openai/sse.ts";
import { errorBody } from "../openai/errors.ts";
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionChunkDelta,
  ChatCompletionMessage,
  ChatToolCall,
  CompletionUsage,
} from "../openai/types.ts";

/** One scripted answer of a {@linkcode FakeOpenAI} server. */
export interface FakeReply {
  /**
   * The HTTP status.
   *
   * @default {200}
   */
  status?: number;
  /** Extra response headers (e.g. `retry-after`, `x-ratelimit-reset-requests`); they win over the defaults. */
  headers?: Record<string, string>;
  /** A JSON body for a non-streaming answer (or an error body). */
  body?: unknown;
  /** A raw text body instead of JSON (e.g. malformed JSON), sent as `application/json` unless `headers` say otherwise. */
  rawBody?: string;
  /**
   * Server-sent events, one write each: a string is written as is (to test CRLF, comments,
   * malformed framing); an object is encoded with `encodeSse`.
   */
  events?: (string | { data: string; event?: string })[];
  /** Milliseconds to wait before sending the response headers. */
  delayMs?: number;
  /** Milliseconds to wait between SSE events; defaults to the server's `chunkDelayMs`. */
  eventDelayMs?: number;
  /** Abort the connection (no terminating chunk) after this many events. */
  dropAfterEvents?: number;
  /**
   * Never answer, until the client gives up or the server closes. Deno.serve cannot drop a
   * connection before its headers, so on close the client gets the headers and a body that
   * fails to read.
   */
  hang?: boolean;
}

/** A request the fake received. */
export interface RecordedRequest {
  /** The HTTP method. */
  method: string;
  /** The URL path, without the query. */
  path: string;
  /** The request headers, names in lower case. */
  headers: Record<string, string>;
  /** The body parsed as JSON; the raw text when it is not JSON; null when empty. */
  body: unknown;
}

/** A running fake OpenAI-compatible server. */
export interface FakeOpenAI {
  /** `http://127.0.0.1:<port>`; the API is under `${url}/v1`. */
  url: string;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  /**
   * Queue replies for a path (`/v1/chat/completions`, `/v1/responses`, `/v1/embeddings`,
   * `/v1/models`, or any other); they are used in order, before the default handler.
   *
   * @param path The URL path.
   * @param replies The replies.
   */
  enqueue(path: string, ...replies: FakeReply[]): void;
  /** Stop the server, aborting hung and streaming responses. Safe to call twice. */
  close(): Promise<void>;
  /**
   * The same as `close()`, so that `await using fake = await startFakeOpenAI()` stops the server
   * when the block is left, also when it throws.
   */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@linkcode startFakeOpenAI}. */
export interface FakeOpenAIOptions {
  /**
   * The port; 0 picks a free one.
   *
   * @default {0}
   */
  port?: number;
  /**
   * The address to listen on.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /** When set, requests without `Authorization: Bearer <apiKey>` get 401 with an OpenAI error body. */
  apiKey?: string;
  /**
   * The default wait between SSE events, in milliseconds.
   *
   * @default {0}
   */
  chunkDelayMs?: number;
  /**
   * Keep every request in `requests`. Off for a long-running mock (`make run`, benchmarks),
   * whose memory would otherwise grow with every request.
   *
   * @default {true}
   */
  record?: boolean;
}

/** Options of {@linkcode chatCompletion}. */
export interface ChatCompletionOptions {
  /**
   * The model.
   *
   * @default {"gpt-4o-mini"}
   */
  model?: string;
  /** Token usage; by default 1 prompt token and one completion token per word. */
  usage?: CompletionUsage;
  /** Tool calls of the assistant; with them an empty `content` becomes null and `finish_reason` is `tool_calls`. */
  toolCalls?: ChatToolCall[];
  /**
   * The completion id.
   *
   * @default {"chatcmpl-fake"}
   */
  id?: string;
}

/** Options of {@linkcode chatChunkEvents}. */
export interface ChatChunkEventsOptions {
  /**
   * The model.
   *
   * @default {"gpt-4o-mini"}
   */
  model?: string;
  /** Add a last chunk with `choices: []` and usage (and `usage: null` in the others), as `stream_options.include_usage` does. */
  includeUsage?: boolean;
  /**
   * The finish reason of the last choice chunk.
   *
   * @default {"stop", or "tool_calls" with toolCalls}
   */
  finishReason?: string;
  /** Token usage for the usage chunk; by default 1 prompt token and one completion token per word. */
  usage?: CompletionUsage;
  /** Tool calls to stream after the texts: id and name first, then the arguments in pieces. */
  toolCalls?: ChatToolCall[];
  /**
   * The completion id, the same in every chunk.
   *
   * @default {"chatcmpl-fake"}
   */
  id?: string;
}

type SseItem = string | { data: string; event?: string };
type Json = Record<string, unknown>;

const MODELS = ["gpt-4o-mini", "text-embedding-3-small"];
const WEATHER_ARGUMENTS = '{"city":"Paris"}';

/**
 * Start a fake OpenAI-compatible server on 127.0.0.1 (a free port unless told). Queued
 * replies come first; otherwise chat completions and Responses API calls echo the last user
 * text (`Echo: <text>`, or a `{"city":"Paris"}` tool call when tools are offered and the
 * text mentions the weather), embeddings are deterministic 8-dimension vectors, models list
 * two models, and anything else is a 404 with an OpenAI error body.
 *
 * @param options Port, hostname, API key and stream pacing.
 * @returns The running server; close it at the end of the test.
 * @throws {Deno.errors.AddrInUse} When the port is taken.
 *
 * @example Answer a chat completion, then a scripted rate limit
 * ```ts
 * import assert from "node:assert/strict";
 * import { startFakeOpenAI } from "./fake_openai.ts";
 *
 * const fake = await startFakeOpenAI();
 * try {
 *   const request = { model: "gpt-4o-mini", messages: [{ role: "user", content: "Hello" }] };
 *   const post = () =>
 *     fetch(`${fake.url}/v1/chat/completions`, { method: "POST", body: JSON.stringify(request) });
 *   const answer = await (await post()).json();
 *   assert.equal(answer.choices[0].message.content, "Echo: Hello");
 *
 *   fake.enqueue("/v1/chat/completions", { status: 429, headers: { "retry-after": "1" } });
 *   const limited = await post();
 *   assert.equal(limited.status, 429);
 *   assert.equal(limited.headers.get("retry-after"), "1");
 *   await limited.body?.cancel();
 *   assert.equal(fake.requests.length, 2);
 * } finally {
 *   await fake.close();
 * }
 * ```
 */
export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const requests: RecordedRequest[] = [];
  const queues = new Map<string, FakeReply[]>();
  const closing = new AbortController();
  const counters = { chat: 0, responses: 0 };
  const pacing = options.chunkDelayMs ?? 0;
  const record = options.record ?? true;
  const { promise: listening, resolve } = Promise.withResolvers<void>();
  const server = Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
    onListen: () => resolve(),
    onError: function fakeOpenAIError(error) {
      return Response.json(errorBody(String(error), "server_error"), { status: 500 });
    },
  }, async function fakeOpenAI(request) {
    const url = new URL(request.url);
    const body = parseBody(await request.text());
    if (record) {
      requests.push({
        method: request.method,
        path: url.pathname,
        headers: Object.fromEntries(request.headers),
        body,
      });
    }
    if (options.apiKey !== undefined) {
      if (request.headers.get("authorization") !== `Bearer ${options.apiKey}`) {
        return send(unauthorized(), request, closing.signal, pacing);
      }
    }
    const reply = queues.get(url.pathname)?.shift() ??
      defaultReply(request.method, url.pathname, body, counters);
    return await send(reply, request, closing.signal, pacing);
  });
  await listening;
  const { hostname, port } = server.addr;
  let closed: Promise<void> | undefined;
  function close(): Promise<void> {
    closing.abort();
    closed ??= server.shutdown();
    return closed;
  }
  return {
    url: `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`,
    requests,
    enqueue(path: string, ...replies: FakeReply[]): void {
      const queue = queues.get(path) ?? [];
      queue.push(...replies);
      queues.set(path, queue);
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * A `chat.completion` body with one assistant choice.
 *
 * @param content The assistant's text.
 * @param options Model, usage, tool calls, id.
 * @returns The body, to use as a {@linkcode FakeReply}'s `body`.
 *
 * @example Script a tool call
 * ```ts
 * import assert from "node:assert/strict";
 * import { chatCompletion } from "./fake_openai.ts";
 *
 * const body = chatCompletion("", {
 *   toolCalls: [{ id: "call_9", type: "function", function: { name: "f", arguments: "{}" } }],
 * });
 * assert.equal(body.choices[0]!.message.content, null);
 * assert.equal(body.choices[0]!.finish_reason, "tool_calls");
 * ```
 */
export function chatCompletion(
  content: string,
  options: ChatCompletionOptions = {},
): ChatCompletion {
  const toolCalls = options.toolCalls ?? [];
  const message: ChatCompletionMessage = {
    role: "assistant",
    content: toolCalls.length > 0 && content === "" ? null : content,
  };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return {
    id: options.id ?? "chatcmpl-fake",
    object: "chat.completion",
    created: nowSeconds(),
    model: options.model ?? MODELS[0]!,
    choices: [{
      index: 0,
      message,
      logprobs: null,
      finish_reason: toolCalls.length > 0 ? "tool_calls" : "stop",
    }],
    usage: options.usage ?? usageOf(1, countWords(content)),
  };
}

/**
 * The SSE events of a streamed chat completion: a first chunk with the assistant role and
 * empty content, one chunk per text, the tool calls if any, a chunk with an empty delta and
 * the finish reason, the usage chunk when asked, then `[DONE]`.
 *
 * @param texts The content pieces, one chunk each.
 * @param options Model, usage chunk, finish reason, tool calls, id.
 * @returns The events, to use as a {@linkcode FakeReply}'s `events`.
 *
 * @example Two pieces and the terminator
 * ```ts
 * import assert from "node:assert/strict";
 * import { chatChunkEvents } from "./fake_openai.ts";
 *
 * const events = chatChunkEvents(["Hel", "lo"], { includeUsage: true });
 * assert.equal(events.length, 6);
 * assert.deepEqual(events.at(-1), { data: "[DONE]" });
 * ```
 */
export function chatChunkEvents(
  texts: string[],
  options: ChatChunkEventsOptions = {},
): NonNullable<FakeReply["events"]> {
  const toolCalls = options.toolCalls ?? [];
  const includeUsage = options.includeUsage ?? false;
  const created = nowSeconds();
  function chunk(delta: ChatCompletionChunkDelta, finishReason: string | null = null) {
    const value: ChatCompletionChunk = {
      id: options.id ?? "chatcmpl-fake",
      object: "chat.completion.chunk",
      created,
      model: options.model ?? MODELS[0]!,
      choices: [{ index: 0, delta, finish_reason: finishReason }],
    };
    if (includeUsage) value.usage = null;
    return value;
  }
  const chunks: ChatCompletionChunk[] = [];
  // As OpenAI does, a tool call without text carries the role in its first chunk.
  const role: ChatCompletionChunkDelta = { role: "assistant", content: "" };
  if (texts.length > 0 || toolCalls.length === 0) chunks.push(chunk(role));
  for (const text of texts) chunks.push(chunk({ content: text }));
  toolCalls.forEach((call, index) => {
    const { name, arguments: args } = call.function;
    const head: ChatCompletionChunkDelta = {
      tool_calls: [{ index, id: call.id, type: "function", function: { name, arguments: "" } }],
    };
    chunks.push(chunk(chunks.length === 0 ? { ...role, content: null, ...head } : head));
    for (const piece of argumentPieces(args)) {
      chunks.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
    }
  });
  chunks.push(chunk({}, options.finishReason ?? (toolCalls.length ? "tool_calls" : "stop")));
  if (includeUsage) {
    const usage = options.usage ?? usageOf(1, countWords(texts.join("")));
    chunks.push({ ...chunk({}), choices: [], usage });
  }
  const events: SseItem[] = chunks.map((value) => ({ data: JSON.stringify(value) }));
  events.push({ data: "[DONE]" });
  return events;
}

// ---------------------------------------------------------------------------------------------
// Sending replies

async function send(
  reply: FakeReply,
  request: Request,
  closing: AbortSignal,
  pacing: number,
): Promise<Response> {
  if (reply.delayMs || reply.hang) {
    // Reading request.signal makes Deno.serve warn once about its legacy abort: only waits do.
    // Linked by hand, not AbortSignal.any: that would keep every wait until the server closes.
    const wait = new AbortController();
    const stop = () => wait.abort();
    closing.addEventListener("abort", stop, { once: true });
    request.signal.addEventListener("abort", stop, { once: true });
    if (closing.aborted || request.signal.aborted) stop();
    try {
      if (reply.delayMs) await sleep(reply.delayMs, wait.signal);
      if (reply.hang) await sleep(Infinity, wait.signal);
    } finally {
      closing.removeEventListener("abort", stop);
      request.signal.removeEventListener("abort", stop);
    }
  }
  const status = reply.status ?? 200;
  const headers = new Headers();
  if (closing.aborted) return new Response(failingBody(), { status, headers: reply.headers ?? {} });
  if (reply.events !== undefined) {
    headers.set("content-type", "text/event-stream; charset=utf-8");
    headers.set("cache-control", "no-cache");
  } else if (reply.rawBody !== undefined || reply.body !== undefined) {
    headers.set("content-type", "application/json");
  }
  for (const [name, value] of Object.entries(reply.headers ?? {})) headers.set(name, value);
  let body: BodyInit | null = null;
  if (reply.events !== undefined) {
    body = sseBody(reply.events, reply.eventDelayMs ?? pacing, reply.dropAfterEvents, closing);
  } else if (reply.rawBody !== undefined) body = reply.rawBody;
  else if (reply.body !== undefined) body = JSON.stringify(reply.body);
  return new Response(body, { status, headers });
}

/** One event per read; the wait, the drop and the server's close happen between reads. */
function sseBody(
  events: SseItem[],
  delayMs: number,
  dropAfter: number | undefined,
  signal: AbortSignal,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  // Not AbortSignal.any with the server's signal: that would keep every stream until it closes.
  const stop = new AbortController();
  const onClose = () => stop.abort();
  signal.addEventListener("abort", onClose, { once: true });
  let cancelled = false;
  const end = () => signal.removeEventListener("abort", onClose);
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent > 0 && delayMs > 0) await sleep(delayMs, stop.signal);
      if (cancelled) return;
      if (signal.aborted) {
        end();
        return controller.error(new Error("The fake server closed"));
      }
      if (dropAfter !== undefined && sent >= dropAfter) {
        end();
        return controller.error(new Error("The fake server dropped the connection"));
      }
      if (sent === events.length) {
        end();
        return controller.close();
      }
      const event = events[sent++]!;
      const text = typeof event === "string" ? event : encodeSse(event.data, event.event);
      controller.enqueue(encoder.encode(text));
    },
    cancel() {
      cancelled = true;
      end();
      stop.abort();
    },
  }, { highWaterMark: 0 });
}

function failingBody(): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start: (controller) => controller.error(new Error("The fake server closed")),
  });
}

/** Resolves after `ms` or when `signal` aborts, whichever comes first; never leaks a timer. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = Number.isFinite(ms) ? setTimeout(done, ms) : undefined;
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

function parseBody(text: string): unknown {
  if (text === "") return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function unauthorized(): FakeReply {
  const message = "Incorrect API key provided";
  return {
    status: 401,
    body: errorBody(message, "invalid_request_error", { code: "invalid_api_key" }),
  };
}

function failure(status: number, message: string, param?: string): FakeReply {
  const options = param === undefined ? {} : { param };
  return { status, body: errorBody(message, "invalid_request_error", options) };
}

// ---------------------------------------------------------------------------------------------
// Default answers

function defaultReply(
  method: string,
  path: string,
  body: unknown,
  counters: { chat: number; responses: number },
): FakeReply {
  const route = `${method} ${path}`;
  if (route === "GET /v1/models") {
    const data = MODELS.map((id) => ({ id, object: "model", created: 0, owned_by: "fake" }));
    return { body: { object: "list", data } };
  }
  const known = ["POST /v1/chat/completions", "POST /v1/responses", "POST /v1/embeddings"];
  if (!known.includes(route)) return failure(404, `Invalid URL (${route})`);
  if (!isObject(body)) return failure(400, "The request body is not a JSON object");
  if (route === "POST /v1/embeddings") return embeddings(body);
  if (route === "POST /v1/chat/completions") return chat(body, ++counters.chat);
  return responses(body, ++counters.responses);
}

function chat(request: Json, n: number): FakeReply {
  const messages = request.messages;
  if (!Array.isArray(messages)) return failure(400, "Missing required parameter", "messages");
  const model = typeof request.model === "string" ? request.model : MODELS[0]!;
  const id = `chatcmpl-fake-${n}`;
  const last = messages.at(-1);
  const userText = textOf(messages.findLast((m) => isObject(m) && m.role === "user")?.content);
  const tool = isObject(last) && last.role === "user" ? weatherTool(request.tools, userText) : "";
  const toolCalls: ChatToolCall[] = tool
    ? [{ id: "call_1", type: "function", function: { name: tool, arguments: WEATHER_ARGUMENTS } }]
    : [];
  const content = tool ? "" : `Echo: ${userText}`;
  const prompt = messages.reduce((sum, m) => sum + countWords(textOf(m?.content)), 0);
  const usage = usageOf(prompt, countWords(tool ? WEATHER_ARGUMENTS : content));
  if (request.stream !== true) {
    return { body: chatCompletion(content, { model, usage, toolCalls, id }) };
  }
  const includeUsage = isObject(request.stream_options) &&
    request.stream_options.include_usage === true;
  const pieces = content === "" ? [] : content.split(/(?=\s)/);
  return { events: chatChunkEvents(pieces, { model, includeUsage, usage, toolCalls, id }) };
}

function embeddings(request: Json): FakeReply {
  const input = request.input;
  if (typeof input !== "string" && !Array.isArray(input)) {
    return failure(400, "Missing required parameter", "input");
  }
  const texts = (typeof input === "string" ? [input] : input).map((item) =>
    typeof item === "string" ? item : JSON.stringify(item)
  );
  const tokens = texts.reduce((sum, text) => sum + countWords(text), 0);
  return {
    body: {
      object: "list",
      data: texts.map((text, index) => ({ object: "embedding", index, embedding: vectorOf(text) })),
      model: typeof request.model === "string" ? request.model : MODELS[1]!,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    },
  };
}

/** Eight floats in [-1, 1) from an FNV-1a hash of the text and xorshift32. */
function vectorOf(text: string): number[] {
  let seed = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) seed = Math.imul(seed ^ text.charCodeAt(i), 0x01000193);
  const vector: number[] = [];
  for (let i = 0; i < 8; i++) {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    vector.push(Math.round(((seed >>> 0) / 2 ** 31 - 1) * 1e6) / 1e6);
  }
  return vector;
}

// ---------------------------------------------------------------------------------------------
// Responses API

type ResponsePlan = { id: string; model: string; created: number; item: Json; usage: Json };

function responses(request: Json, n: number): FakeReply {
  const input = request.input;
  const items = typeof input === "string" ? [{ role: "user", content: input }] : input;
  if (!Array.isArray(items)) return failure(400, "Missing required parameter", "input");
  const userText = textOf(items.findLast((i) => isObject(i) && i.role === "user")?.content);
  const last = items.at(-1);
  const tool = isObject(last) && last.role === "user" ? weatherTool(request.tools, userText) : "";
  const text = `Echo: ${userText}`;
  const item: Json = tool
    ? {
      type: "function_call",
      id: "fc_1",
      call_id: "call_1",
      name: tool,
      arguments: WEATHER_ARGUMENTS,
      status: "completed",
    }
    : {
      type: "message",
      id: "msg_1",
      role: "assistant",
      status: "completed",
      content: [{ type: "output_text", text, annotations: [] }],
    };
  const prompt = items.reduce((sum, i) => sum + countWords(textOf(i?.content)), 0);
  const output = countWords(tool ? WEATHER_ARGUMENTS : text);
  const plan: ResponsePlan = {
    id: `resp_fake_${n}`,
    model: typeof request.model === "string" ? request.model : MODELS[0]!,
    created: nowSeconds(),
    item,
    usage: {
      input_tokens: prompt,
      output_tokens: output,
      total_tokens: prompt + output,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens_details: { reasoning_tokens: 0 },
    },
  };
  if (request.stream !== true) return { body: responseObject(plan, "completed") };
  return { events: responseEvents(plan, tool ? [] : text.split(/(?=\s)/)) };
}

function responseObject(plan: ResponsePlan, status: "in_progress" | "completed"): Json {
  const done = status === "completed";
  return {
    id: plan.id,
    object: "response",
    created_at: plan.created,
    status,
    error: null,
    incomplete_details: null,
    model: plan.model,
    output: done ? [plan.item] : [],
    usage: done ? plan.usage : null,
  };
}

/** The real API's order: lifecycle, item, content part, deltas, the matching done events. */
function responseEvents(plan: ResponsePlan, pieces: string[]): SseItem[] {
  const events: SseItem[] = [];
  function emit(type: string, fields: Json): void {
    const data = JSON.stringify({ type, sequence_number: events.length, ...fields });
    events.push({ event: type, data });
  }
  const item = plan.item;
  const at = { item_id: item.id, output_index: 0 };
  emit("response.created", { response: responseObject(plan, "in_progress") });
  emit("response.in_progress", { response: responseObject(plan, "in_progress") });
  if (item.type === "function_call") {
    emit("response.output_item.added", {
      output_index: 0,
      item: { ...item, arguments: "", status: "in_progress" },
    });
    for (const delta of argumentPieces(String(item.arguments))) {
      emit("response.function_call_arguments.delta", { ...at, delta });
    }
    emit("response.function_call_arguments.done", {
      ...at,
      name: item.name,
      arguments: item.arguments,
    });
  } else {
    const text = pieces.join("");
    const part = { type: "output_text", text: "", annotations: [] };
    emit("response.output_item.added", {
      output_index: 0,
      item: { ...item, status: "in_progress", content: [] },
    });
    emit("response.content_part.added", { ...at, content_index: 0, part });
    for (const delta of pieces) {
      emit("response.output_text.delta", { ...at, content_index: 0, delta, logprobs: [] });
    }
    emit("response.output_text.done", { ...at, content_index: 0, text, logprobs: [] });
    emit("response.content_part.done", { ...at, content_index: 0, part: { ...part, text } });
  }
  emit("response.output_item.done", { output_index: 0, item });
  emit("response.completed", { response: responseObject(plan, "completed") });
  return events;
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** The first tool's name when tools are offered and the text asks about the weather, else "". */
function weatherTool(tools: unknown, text: string): string {
  if (!Array.isArray(tools) || tools.length === 0 || !/\bweather\b/i.test(text)) return "";
  const first = tools[0];
  if (!isObject(first)) return "get_weather";
  if (typeof first.name === "string") return first.name;
  const fn = first.function;
  return isObject(fn) && typeof fn.name === "string" ? fn.name : "get_weather";
}

/** A string, or the `text` of every part of an array, joined with spaces. */
function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.flatMap((part) =>
    isObject(part) && typeof part.text === "string" ? [part.text] : []
  )
    .join(" ");
}

/** Splits JSON arguments the way tokens fall: words apart from punctuation. */
function argumentPieces(args: string): string[] {
  return args.match(/[A-Za-z0-9_]+|[^A-Za-z0-9_]+/g) ?? [];
}

function countWords(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

function usageOf(prompt: number, completion: number): CompletionUsage {
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
  };
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
