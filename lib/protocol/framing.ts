/**
 * Newline-delimited framing with a per-line size cap: bytes in, JSON values out.
 *
 * @module
 */

/** The default largest line, in bytes, newline excluded: 16 MiB. */
export const DEFAULT_MAX_LINE_BYTES: number = 16 * 1024 * 1024;

const NEWLINE = 0x0a;
const ID_PROBE_BYTES = 4096;

/** What {@linkcode LineDecoder.push} found in the bytes it was given. */
export type Frame =
  | { kind: "message"; value: unknown }
  | { kind: "parse_error"; reason: string }
  | { kind: "oversized"; bytes: number; id: string | number | null; response: boolean };

/** Options of {@linkcode LineDecoder}. */
export interface LineDecoderOptions {
  /**
   * The largest line accepted, in bytes, newline excluded.
   *
   * @default {16777216}
   */
  maxLineBytes?: number;
}

/**
 * Splits a byte stream into lines and parses each as JSON. An over-long line is skipped
 * up to its newline and reported once, with the request id read from its first bytes when
 * there is one, so that the sender can be answered; memory stays bounded by the cap.
 *
 * @example Decode two messages split across chunks
 * ```ts
 * import assert from "node:assert/strict";
 * import { LineDecoder } from "./framing.ts";
 *
 * const decoder = new LineDecoder();
 * const bytes = new TextEncoder().encode('{"a":1}\n{"b"');
 * assert.deepEqual(decoder.push(bytes), [{ kind: "message", value: { a: 1 } }]);
 * assert.deepEqual(decoder.push(new TextEncoder().encode(":2}\n")), [
 *   { kind: "message", value: { b: 2 } },
 * ]);
 * ```
 */
export class LineDecoder {
  #maxLineBytes: number;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #discarding = false;
  #discarded = 0;
  #probe: Uint8Array | null = null;
  #text = new TextDecoder("utf-8", { fatal: true });

  /**
   * Make a decoder.
   *
   * @param options The line size cap.
   */
  constructor(options: LineDecoderOptions = {}) {
    const max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new RangeError(
        `Cannot make a line decoder: maxLineBytes must be a positive integer, received ${max}`,
      );
    }
    this.#maxLineBytes = max;
  }

  /** The line size cap in bytes. */
  get maxLineBytes(): number {
    return this.#maxLineBytes;
  }

  /** Change the line size cap; the current partial line is judged by the new cap. */
  set maxLineBytes(max: number) {
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new RangeError(`Cannot set maxLineBytes: expected a positive integer, received ${max}`);
    }
    this.#maxLineBytes = max;
  }

  /**
   * Feed bytes; returns every complete frame they end.
   *
   * @param chunk The next bytes of the stream.
   * @returns The frames completed by this chunk, in order.
   */
  push(chunk: Uint8Array): Frame[] {
    const frames: Frame[] = [];
    let start = 0;
    if (this.#buffered > 0 || this.#discarding) {
      // Finish the line the previous chunks began.
      const end = chunk.indexOf(NEWLINE);
      if (end === -1) {
        this.#keep(chunk);
        return frames;
      }
      this.#keep(chunk.subarray(0, end));
      const frame = this.#finishLine();
      if (frame) frames.push(frame);
      start = end + 1;
    }
    const last = chunk.lastIndexOf(NEWLINE);
    if (last >= start) {
      // Every line up to the last newline is whole: decode them together when none can be
      // over the cap and all are valid UTF-8, which is one decode for many small messages.
      const whole = chunk.subarray(start, last);
      const text = whole.length <= this.#maxLineBytes ? decodeValid(whole, this.#text) : null;
      if (text === null) this.#splitLines(whole, frames);
      else {
        for (const line of text.split("\n")) {
          const frame = parseText(line);
          if (frame) frames.push(frame);
        }
      }
      start = last + 1;
    }
    if (start < chunk.length) this.#keep(chunk.subarray(start));
    return frames;
  }

  /** One line at a time, for whole lines that the fast path of `push` cannot take. */
  #splitLines(lines: Uint8Array, frames: Frame[]): void {
    let start = 0;
    while (start <= lines.length) {
      let end = lines.indexOf(NEWLINE, start);
      if (end === -1) end = lines.length;
      this.#keep(lines.subarray(start, end));
      const frame = this.#finishLine();
      if (frame) frames.push(frame);
      start = end + 1;
    }
  }

  /**
   * Report what is left at end of stream: a last line without its newline.
   *
   * @returns The frame of the unterminated last line, if any.
   */
  end(): Frame[] {
    if (this.#buffered === 0 && !this.#discarding) return [];
    const frame = this.#finishLine();
    return frame ? [frame] : [];
  }

  #keep(part: Uint8Array): void {
    if (part.length === 0) return;
    if (this.#discarding) {
      this.#discarded += part.length;
      // The id may lie past the bytes seen when the line crossed the cap.
      if (this.#probe && this.#probe.length < ID_PROBE_BYTES) {
        this.#probe = concat([this.#probe, part], ID_PROBE_BYTES);
      }
      return;
    }
    if (this.#buffered + part.length > this.#maxLineBytes) {
      this.#probe = concat([...this.#chunks, part], ID_PROBE_BYTES);
      this.#discarded = this.#buffered + part.length;
      this.#discarding = true;
      this.#chunks = [];
      this.#buffered = 0;
      return;
    }
    // The chunk may be reused by the reader: copy what we keep.
    this.#chunks.push(part.slice());
    this.#buffered += part.length;
  }

  #finishLine(): Frame | null {
    if (!this.#discarding && this.#buffered > this.#maxLineBytes) {
      // The cap was lowered while this line was being read.
      this.#probe = concat(this.#chunks, ID_PROBE_BYTES);
      this.#discarded = this.#buffered;
      this.#discarding = true;
      this.#chunks = [];
      this.#buffered = 0;
    }
    if (this.#discarding) {
      const frame: Frame = {
        kind: "oversized",
        bytes: this.#discarded,
        id: probeId(this.#probe),
        response: probeIsResponse(this.#probe),
      };
      this.#discarding = false;
      this.#discarded = 0;
      this.#probe = null;
      return frame;
    }
    const line = this.#chunks.length === 1 ? this.#chunks[0]! : concat(this.#chunks, Infinity);
    this.#chunks = [];
    this.#buffered = 0;
    return parseLine(line, this.#text);
  }
}

const lenient = new TextDecoder();

/**
 * Decode UTF-8, or null when the bytes are not valid UTF-8. The lenient decoder is several
 * times faster than a fatal one; only text holding U+FFFD (a replaced byte, or a real U+FFFD)
 * is decoded again strictly to tell the two apart.
 */
function decodeValid(bytes: Uint8Array, strict: TextDecoder): string | null {
  const text = lenient.decode(bytes);
  if (!text.includes("\uFFFD")) return text;
  try {
    return strict.decode(bytes);
  } catch {
    return null;
  }
}

function parseLine(line: Uint8Array, decoder: TextDecoder): Frame | null {
  const text = decodeValid(line, decoder);
  if (text === null) return { kind: "parse_error", reason: "the line is not valid UTF-8" };
  return parseText(text);
}

function parseText(text: string): Frame | null {
  if (text.length === 0) return null;
  try {
    return { kind: "message", value: JSON.parse(text) };
  } catch (error) {
    if (text.trim() === "") return null;
    const detail = error instanceof SyntaxError ? error.message : String(error);
    return { kind: "parse_error", reason: `the line is not valid JSON: ${detail}` };
  }
}

function concat(parts: Uint8Array[], limit: number): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(Math.min(length, limit));
  let offset = 0;
  for (const part of parts) {
    if (offset >= out.length) break;
    const take = part.subarray(0, out.length - offset);
    out.set(take, offset);
    offset += take.length;
  }
  return out;
}

/** Reads `"id": 12` or `"id": "abc"` near the start of a line too long to parse. */
function probeId(probe: Uint8Array | null): string | number | null {
  if (!probe) return null;
  const text = new TextDecoder().decode(probe);
  const match = /^\s*\{[^{}]*?"id"\s*:\s*(-?\d{1,15}|"(?:[^"\\]|\\.){0,256}")\s*[,}]/.exec(text);
  if (!match) return null;
  try {
    const id: unknown = JSON.parse(match[1]!);
    return typeof id === "string" || typeof id === "number" ? id : null;
  } catch {
    return null;
  }
}

/** Whether the first bytes of a line too long to parse show a response (`result` or `error`). */
function probeIsResponse(probe: Uint8Array | null): boolean {
  if (probe === null) return false;
  return /^\s*\{[^{}]*?"(?:result|error)"\s*:/.test(new TextDecoder().decode(probe));
}

const encoder = new TextEncoder();

/**
 * Encode one message as a UTF-8 line. `JSON.stringify` escapes every newline inside
 * strings, so the only newline is the terminator.
 *
 * @param message Any JSON-serializable value.
 * @returns The bytes of the line, newline included.
 *
 * @example Encode a notification
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeMessage } from "./framing.ts";
 *
 * const line = new TextDecoder().decode(encodeMessage({ jsonrpc: "2.0", method: "x" }));
 * assert.equal(line, '{"jsonrpc":"2.0","method":"x"}\n');
 * ```
 */
export function encodeMessage(message: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(message) + "\n");
}
