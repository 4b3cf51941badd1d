/**
 * Transports carry whole messages between two peers: over byte streams (stdio, pipes) with
 * newline framing, or in memory for tests.
 *
 * @module
 */

import { encodeMessage, type Frame, LineDecoder } from "./framing.ts";

/** What a transport reports that is not a message: a bad line from the other side. */
export type FramingProblem = Exclude<Frame, { kind: "message" }>;

/**
 * A bidirectional message channel. Set the callbacks, then call `start()`.
 */
export interface Transport {
  /** Begin reading; resolves once reading has started. */
  start(): Promise<void>;
  /**
   * Send one message; resolves once it is handed to the underlying stream. Throws a
   * `TypeError` at once, sending nothing, when the message cannot be serialized as JSON.
   */
  send(message: unknown): Promise<void>;
  /** Stop reading and writing; `onclose` fires once. */
  close(): Promise<void>;
  /** Called with each parsed message. */
  onmessage?: (message: unknown) => void;
  /** Called with each line that could not be read as a message. */
  onproblem?: (problem: FramingProblem) => void;
  /** Called with write or read failures. */
  onerror?: (error: Error) => void;
  /**
   * Called once when no more messages will arrive: the other side closed, or `close()` was
   * called. Until `close()`, messages may still be sent.
   */
  onclose?: () => void;
  /** The largest incoming line in bytes, when the transport frames lines. */
  maxLineBytes?: number;
}

/** Options of {@linkcode StreamTransport}. */
export interface StreamTransportOptions {
  /**
   * The largest incoming line, in bytes.
   *
   * @default {16777216}
   */
  maxLineBytes?: number;
}

/**
 * Newline-delimited JSON over a readable and a writable byte stream: the plugin's stdin and
 * stdout, or a child process's pipes. Messages sent in the same tick are written together.
 *
 * @example Talk over a pair of in-process streams
 * ```ts
 * import assert from "node:assert/strict";
 * import { StreamTransport } from "./transport.ts";
 *
 * const pipe = new TransformStream<Uint8Array, Uint8Array>();
 * const writer = new StreamTransport(new ReadableStream(), pipe.writable);
 * const reader = new StreamTransport(pipe.readable, new WritableStream());
 * const received = new Promise((resolve) => (reader.onmessage = resolve));
 * await reader.start();
 * await writer.send({ jsonrpc: "2.0", method: "ping" });
 * assert.deepEqual(await received, { jsonrpc: "2.0", method: "ping" });
 * await writer.close();
 * await reader.close();
 * ```
 */
export class StreamTransport implements Transport {
  onmessage?: (message: unknown) => void;
  onproblem?: (problem: FramingProblem) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;

  #readable: ReadableStream<Uint8Array>;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  #decoder: LineDecoder;
  #pending: Uint8Array[] = [];
  #flushing: Promise<void> | null = null;
  #closed = false;
  #closeNotified = false;
  #closing: Promise<void> | null = null;

  /**
   * Make a transport over two streams.
   *
   * @param readable Where messages come from.
   * @param writable Where messages go.
   * @param options The line size cap.
   */
  constructor(
    readable: ReadableStream<Uint8Array>,
    writable: WritableStream<Uint8Array>,
    options: StreamTransportOptions = {},
  ) {
    this.#readable = readable;
    this.#writer = writable.getWriter();
    this.#decoder = new LineDecoder(options);
  }

  /** The largest incoming line in bytes. */
  get maxLineBytes(): number {
    return this.#decoder.maxLineBytes;
  }

  /** Change the largest incoming line in bytes. */
  set maxLineBytes(max: number) {
    this.#decoder.maxLineBytes = max;
  }

  /** Begin reading. */
  start(): Promise<void> {
    if (this.#reader) throw new Error("Cannot start the transport: it is already started");
    this.#reader = this.#readable.getReader();
    this.#readLoop(this.#reader);
    return Promise.resolve();
  }

  /**
   * Queue one message; messages queued in the same tick go out in one write.
   *
   * @param message A JSON-serializable value.
   */
  send(message: unknown): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("Cannot send: the transport is closed"));
    this.#pending.push(encodeMessage(message));
    this.#flushing ??= Promise.resolve().then(() => this.#flush());
    return this.#flushing;
  }

  /** Close both directions, after what was sent has been written. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    try {
      await this.#flushing;
    } catch { /* reported through onerror */ }
    await this.#reader?.cancel().catch(() => {});
    await this.#writer.close().catch(() => {});
    this.#notifyClose();
  }

  #notifyClose(): void {
    if (this.#closeNotified) return;
    this.#closeNotified = true;
    this.onclose?.();
  }

  async #flush(): Promise<void> {
    const parts = this.#pending;
    this.#pending = [];
    this.#flushing = null;
    const bytes = parts.length === 1 ? parts[0]! : joinBytes(parts);
    try {
      await this.#writer.write(bytes);
    } catch (error) {
      this.onerror?.(asError(error));
      throw error;
    }
  }

  async #readLoop(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        this.#deliver(this.#decoder.push(value));
      }
      this.#deliver(this.#decoder.end());
    } catch (error) {
      if (!this.#closed) this.onerror?.(asError(error));
    }
    // Input ended; answers still being prepared may go out until close(), which notifies.
    if (!this.#closed) this.#notifyClose();
  }

  #deliver(frames: Frame[]): void {
    for (const frame of frames) {
      if (frame.kind === "message") this.onmessage?.(frame.value);
      else this.onproblem?.(frame);
    }
  }
}

/**
 * Two in-memory transports connected to each other, for tests. Messages are copied through
 * JSON, as on the wire, so a value that would not survive serialization fails here too.
 *
 * @returns Two connected transports.
 *
 * @example Send a message from one side to the other
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLinkedPair } from "./transport.ts";
 *
 * const [left, right] = createLinkedPair();
 * const received = new Promise((resolve) => (right.onmessage = resolve));
 * await left.start();
 * await right.start();
 * await left.send({ jsonrpc: "2.0", method: "health", id: 1 });
 * assert.deepEqual(await received, { jsonrpc: "2.0", method: "health", id: 1 });
 * ```
 */
export function createLinkedPair(): [Transport, Transport] {
  const left = new LinkedTransport();
  const right = new LinkedTransport();
  left.other = right;
  right.other = left;
  return [left, right];
}

class LinkedTransport implements Transport {
  onmessage?: (message: unknown) => void;
  onproblem?: (problem: FramingProblem) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;
  other: LinkedTransport | null = null;
  #closed = false;

  start(): Promise<void> {
    return Promise.resolve();
  }

  send(message: unknown): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("Cannot send: the transport is closed"));
    const copy: unknown = JSON.parse(JSON.stringify(message));
    const other = this.other;
    queueMicrotask(() => other?.onmessage?.(copy));
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.onclose?.();
    const other = this.other;
    this.other = null;
    return other?.close() ?? Promise.resolve();
  }
}

function joinBytes(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
