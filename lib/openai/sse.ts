/**
 * Server-sent events, as the OpenAI APIs stream them: a parser that survives real networks
 * (events split across reads, CRLF or CR line ends, comments and keep-alives, multi-line
 * data) and an encoder.
 *
 * @module
 */

/** One dispatched event. */
export interface SseEvent {
  /** The `event:` field; `message` when absent. */
  event: string;
  /** The `data:` lines joined with `\n`. */
  data: string;
  /** The `id:` field, if the event carried one. */
  id?: string;
}

/**
 * An incremental SSE parser following the WHATWG event-stream rules. Feed it text as it
 * arrives; it returns the events completed so far.
 *
 * @example Parse an event split across two reads
 * ```ts
 * import assert from "node:assert/strict";
 * import { SseParser } from "./sse.ts";
 *
 * const parser = new SseParser();
 * assert.deepEqual(parser.push("data: {\"a\"\r\n"), []);
 * assert.deepEqual(parser.push(":keep-alive\r\ndata: :1}\r\n\r\n"), [
 *   { event: "message", data: '{"a"\n:1}' },
 * ]);
 * ```
 */
export class SseParser {
  #buffer = "";
  #data: string[] = [];
  #event = "";
  #id: string | undefined;
  #pendingCr = false;

  /**
   * Feed the next piece of the stream.
   *
   * @param text Decoded text, any length, split anywhere.
   * @returns The events it completed, in order.
   */
  push(text: string): SseEvent[] {
    // An empty read must not forget a CR that may still be followed by its LF.
    if (text === "") return [];
    if (this.#pendingCr && text.startsWith("\n")) text = text.slice(1);
    this.#pendingCr = false;
    this.#buffer += text;
    const events: SseEvent[] = [];
    let start = 0;
    const buffer = this.#buffer;
    for (let i = 0; i < buffer.length; i++) {
      const c = buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.#line(buffer.slice(start, i), events);
      if (c === 13) {
        if (i + 1 === buffer.length) this.#pendingCr = true;
        else if (buffer.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
    }
    this.#buffer = buffer.slice(start);
    return events;
  }

  /** How many characters wait for their line end (to bound memory against a hostile peer). */
  get buffered(): number {
    return this.#buffer.length + this.#data.reduce((sum, line) => sum + line.length, 0);
  }

  #line(line: string, events: SseEvent[]): void {
    if (line === "") {
      if (this.#data.length > 0) {
        const event: SseEvent = { event: this.#event || "message", data: this.#data.join("\n") };
        if (this.#id !== undefined) event.id = this.#id;
        events.push(event);
      }
      this.#data = [];
      this.#event = "";
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.#data.push(value);
    else if (field === "event") this.#event = value;
    else if (field === "id" && !value.includes("\0")) this.#id = value;
  }
}

/** Options of {@linkcode readSse}. */
export interface ReadSseOptions {
  /**
   * The most characters an unfinished event may hold before reading fails.
   *
   * @default {16777216}
   */
  maxEventChars?: number;
}

/**
 * Read a byte stream as server-sent events. An event still incomplete when the stream ends
 * is dropped, as the standard says: callers that expect a terminator (`[DONE]`) notice it.
 *
 * @param stream The response body.
 * @param options Memory bound.
 * @returns The events, in order.
 * @throws {RangeError} When an event grows past `maxEventChars`.
 *
 * @example Read events from a stream
 * ```ts
 * import assert from "node:assert/strict";
 * import { readSse } from "./sse.ts";
 *
 * const body = ReadableStream.from([new TextEncoder().encode("data: 1\n\ndata: [DONE]\n\n")]);
 * const data: string[] = [];
 * for await (const event of readSse(body)) data.push(event.data);
 * assert.deepEqual(data, ["1", "[DONE]"]);
 * ```
 */
export async function* readSse(
  stream: ReadableStream<Uint8Array>,
  options: ReadSseOptions = {},
): AsyncGenerator<SseEvent> {
  const max = options.maxEventChars ?? 16 * 1024 * 1024;
  const parser = new SseParser();
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    yield* parser.push(decoder.decode(chunk, { stream: true }));
    if (parser.buffered > max) {
      throw new RangeError(
        `Cannot read the event stream: an event is longer than ${max} characters`,
      );
    }
  }
  yield* parser.push(decoder.decode());
}

/**
 * Encode one event: `event:` when given, then the data on as many `data:` lines as it has.
 *
 * @param data The data (usually JSON text).
 * @param event The event name, when not `message`.
 * @returns The event's text, blank line included.
 *
 * @example Encode a chunk and the terminator
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeSse } from "./sse.ts";
 *
 * assert.equal(encodeSse('{"a":1}'), 'data: {"a":1}\n\n');
 * assert.equal(encodeSse("[DONE]"), "data: [DONE]\n\n");
 * ```
 */
export function encodeSse(data: string, event?: string): string {
  const head = event ? `event: ${event}\n` : "";
  return `${head}${data.split(/\r\n|\r|\n/).map((line) => `data: ${line}`).join("\n")}\n\n`;
}
