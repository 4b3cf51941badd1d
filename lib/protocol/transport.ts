/**
 * Transports carry whole messages between two peers: over byte streams (stdio, pipes) with
 * newline framing, or in memory for tests.
 *
 * @module
 */

import { PluginError } from "./errors.ts";
import { type Frame, LineDecoder } from "./framing.ts";

/** What a transport reports that is not a message: a bad line from the other side. */
export type FramingProblem = Exclude<Frame, { kind: "message" }>;

/** Options of {@linkcode Transport.send}. */
export interface SendOptions {
  /**
   * Nobody waits for this message: it may wait up to a few milliseconds
   * ({@linkcode DEFER_MS}) for the next message to go out with, so that work off the critical
   * path (a cache store, a rate-limit settle, observer events) costs no write of its own.
   */
  defer?: boolean;
}

/** Options of {@linkcode Transport.close}. */
export interface CloseOptions {
  /**
   * Ends the wait for what is still unwritten (a peer that stopped reading leaves a full pipe):
   * once it aborts, those messages are dropped, their senders' promises reject, the output is
   * torn down instead of ended, and `close()` resolves.
   *
   * @default {waits until everything sent is written}
   */
  signal?: AbortSignal;
}

/** The longest a deferred message waits for company, in milliseconds. */
export const DEFER_MS = 2;

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
  send(message: unknown, options?: SendOptions): Promise<void>;
  /** Stop reading and writing, after what was sent is written; `onclose` fires once. */
  close(options?: CloseOptions): Promise<void>;
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

/**
 * Reads bytes into a caller's buffer, as `Deno.stdin` does: the number read, or null at end
 * of input. Reading into one reused buffer spares an allocation per chunk.
 */
export interface ByteReader {
  /** Read into `buffer`; resolves with the number of bytes read, or null at end of input. */
  read(buffer: Uint8Array): Promise<number | null>;
}

/**
 * Writes bytes, as `Deno.stdout` does: resolves with how many were written (maybe fewer), and
 * is done with `bytes` by then, so the transport writes every batch from one reused buffer.
 */
export interface ByteWriter {
  /** Write some of `bytes`; resolves with the number written. */
  write(bytes: Uint8Array): Promise<number>;
  /** Close the writing end (the other side sees the end of input). */
  close?(): Promise<void>;
  /**
   * Drop what is not yet written and release the stream at once, even while a write waits;
   * a pending write may then reject. Nobody waits for the promise.
   */
  abort?(reason?: unknown): Promise<void>;
}

/** Options of {@linkcode StreamTransport}. */
export interface StreamTransportOptions {
  /**
   * The largest incoming line, in bytes.
   *
   * @default {16777216}
   */
  maxLineBytes?: number;
  /**
   * The most bytes of messages waiting to be written (JSON text, counted in UTF-16 code units)
   * before `send` refuses more, rejecting with `unavailable`: a peer that stopped reading must
   * not make its sender's memory grow without bound. One message larger than this is still
   * sent when nothing else waits.
   *
   * @default {67108864}
   */
  maxPendingBytes?: number;
}

/** Default of {@linkcode StreamTransportOptions.maxPendingBytes}: 64 MiB. */
export const DEFAULT_MAX_PENDING_BYTES = 64 * 1024 * 1024;

/**
 * Newline-delimited JSON over a readable and a writable byte stream: the plugin's stdin and
 * stdout, or a child process's pipes. Messages sent while a write is under way, or in the
 * same tick, are encoded and written together, into one reused buffer; lines read in one
 * chunk are decoded together.
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

  #input: ReadableStream<Uint8Array> | ByteReader | AsyncIterable<Uint8Array>;
  #output: WritableStreamDefaultWriter<Uint8Array> | ByteWriter;
  #started = false;
  #cancelInput: (() => Promise<void>) | null = null;
  #decoder: LineDecoder;
  /** Lines queued and not yet written, each ending in a newline. */
  #pending: string[] = [];
  #pendingBytes = 0;
  #maxPendingBytes: number;
  #batch: PromiseWithResolvers<void> | null = null;
  /** The batch being written. */
  #writingBatch: PromiseWithResolvers<void> | null = null;
  #writing: Promise<void> | null = null;
  #deferTimer: ReturnType<typeof setTimeout> | undefined;
  #buffer = new Uint8Array(0);
  #closed = false;
  #closeNotified = false;
  #closing: Promise<void> | null = null;
  /** Resolves once what was unwritten is dropped (a close signal aborted). */
  #dropped = Promise.withResolvers<void>();
  #isDropped = false;

  /**
   * Make a transport over two streams.
   *
   * @param readable Where messages come from: a byte stream, a {@linkcode ByteReader} such as
   * `Deno.stdin`, or any async iterable of chunks (ending it at close).
   * @param writable Where messages go: a byte stream, or a {@linkcode ByteWriter} such as
   * `Deno.stdout`.
   * @param options The line size cap.
   */
  constructor(
    readable: ReadableStream<Uint8Array> | ByteReader | AsyncIterable<Uint8Array>,
    writable: WritableStream<Uint8Array> | ByteWriter,
    options: StreamTransportOptions = {},
  ) {
    this.#input = readable;
    this.#output = writable instanceof WritableStream ? writable.getWriter() : writable;
    this.#decoder = new LineDecoder(options);
    this.#maxPendingBytes = options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES;
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
    if (this.#started) throw new Error("Cannot start the transport: it is already started");
    this.#started = true;
    this.#readLoop();
    return Promise.resolve();
  }

  /**
   * Queue one message; messages queued in the same tick, or while a write is under way, go
   * out in one write.
   *
   * @param message A JSON-serializable value.
   * @param options Whether the message may wait for company.
   */
  send(message: unknown, options?: SendOptions): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("Cannot send: the transport is closed"));
    const line = JSON.stringify(message);
    if (line === undefined) {
      throw new TypeError(`Cannot send ${String(message)}: it has no JSON form`);
    }
    if (this.#pendingBytes > 0 && this.#pendingBytes + line.length + 1 > this.#maxPendingBytes) {
      const mib = Math.round(this.#pendingBytes / 1048576);
      return Promise.reject(
        new PluginError(
          "unavailable",
          `Cannot send: ${mib} MiB wait to be written (maxPendingBytes): the peer is not reading`,
          { reason: "backlog" },
        ),
      );
    }
    this.#pending.push(line, "\n");
    this.#pendingBytes += line.length + 1;
    this.#batch ??= Promise.withResolvers<void>();
    const sent = this.#batch.promise;
    if (this.#writing) return sent;
    if (options?.defer) {
      this.#deferTimer ??= setTimeout(() => this.#startWriting(), DEFER_MS);
    } else {
      this.#startWriting();
    }
    return sent;
  }

  #startWriting(): void {
    if (this.#deferTimer !== undefined) {
      clearTimeout(this.#deferTimer);
      this.#deferTimer = undefined;
    }
    this.#writing ??= Promise.resolve().then(() => this.#writeLoop());
  }

  /**
   * Close both directions, after what was sent has been written or, once the signal aborts,
   * dropped.
   *
   * @param options A signal that ends the wait for unwritten messages.
   */
  close(options: CloseOptions = {}): Promise<void> {
    const { signal } = options;
    const drop = () => this.#drop();
    if (signal?.aborted) drop();
    else signal?.addEventListener("abort", drop, { once: true });
    this.#closing ??= this.#close();
    if (signal) {
      const forget = () => signal.removeEventListener("abort", drop);
      this.#closing.then(forget, forget);
    }
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    if (this.#pending.length > 0) this.#startWriting();
    await Promise.race([this.#writing, this.#dropped.promise]);
    await this.#cancelInput?.().catch(() => {});
    if (!this.#isDropped) {
      await Promise.race([this.#output.close?.().catch(() => {}), this.#dropped.promise]);
    }
    this.#notifyClose();
  }

  /** Give up on what is unwritten: its senders' promises reject, the output is torn down. */
  #drop(): void {
    if (this.#isDropped) return;
    this.#isDropped = true;
    this.#closed = true;
    clearTimeout(this.#deferTimer);
    this.#deferTimer = undefined;
    const error = new Error("Cannot send: the transport closed before the message was written");
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#batch?.reject(error);
    this.#batch = null;
    this.#writingBatch?.reject(error);
    this.#dropped.resolve();
    this.#output.abort?.(error).catch(() => {});
  }

  #notifyClose(): void {
    if (this.#closeNotified) return;
    this.#closeNotified = true;
    this.onclose?.();
  }

  /** Write batches until nothing is queued; never rejects (failures go to the senders). */
  async #writeLoop(): Promise<void> {
    while (this.#pending.length > 0) {
      const text = this.#pending.join("");
      const batch = this.#batch!;
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#batch = null;
      this.#writingBatch = batch;
      try {
        await this.#writeText(text);
        batch.resolve();
      } catch (error) {
        // A write that fails after the drop (the pipe broke as the process died) is no news.
        if (!this.#isDropped) this.onerror?.(asError(error));
        batch.reject(error);
      }
    }
    this.#writingBatch = null;
    this.#writing = null;
  }

  async #writeText(text: string): Promise<void> {
    const output = this.#output;
    if ("releaseLock" in output) {
      // A stream may keep the chunk it is given (a TransformStream queues it): a new one.
      await output.write(encoder.encode(text));
      return;
    }
    // A ByteWriter is done with the bytes once the write resolves: one buffer serves all.
    const most = text.length * 3;
    if (this.#buffer.length < most || this.#buffer.length > KEEP_BUFFER_BYTES) {
      this.#buffer = new Uint8Array(Math.max(most, MIN_BUFFER_BYTES));
    }
    const { written } = encoder.encodeInto(text, this.#buffer);
    const bytes = this.#buffer.subarray(0, written);
    let offset = 0;
    while (offset < bytes.length && !this.#isDropped) {
      offset += await output.write(bytes.subarray(offset));
    }
  }

  async #readLoop(): Promise<void> {
    try {
      const input = this.#input;
      if (input instanceof ReadableStream) await this.#readStream(input);
      else if (Symbol.asyncIterator in input) await this.#readChunks(input);
      else await this.#readBytes(input);
      this.#deliver(this.#decoder.end());
    } catch (error) {
      if (!this.#closed) this.onerror?.(asError(error));
    }
    // Input ended; answers still being prepared may go out until close(), which notifies.
    if (!this.#closed) this.#notifyClose();
  }

  async #readStream(stream: ReadableStream<Uint8Array>): Promise<void> {
    const reader = stream.getReader();
    this.#cancelInput = () => reader.cancel();
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      this.#deliver(this.#decoder.push(value));
    }
  }

  async #readChunks(input: AsyncIterable<Uint8Array>): Promise<void> {
    const chunks = input[Symbol.asyncIterator]();
    this.#cancelInput = async () => void await chunks.return?.();
    while (true) {
      const { value, done } = await chunks.next();
      if (done) return;
      this.#deliver(this.#decoder.push(value));
    }
  }

  async #readBytes(input: ByteReader): Promise<void> {
    let stopped = false;
    this.#cancelInput = () => {
      stopped = true;
      return Promise.resolve();
    };
    // The decoder copies what it keeps of a chunk, so one buffer serves every read.
    const buffer = new Uint8Array(READ_BUFFER_BYTES);
    while (!stopped) {
      const count = await input.read(buffer);
      if (count === null || stopped) return;
      this.#deliver(this.#decoder.push(buffer.subarray(0, count)));
    }
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

  send(message: unknown, _options?: SendOptions): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("Cannot send: the transport is closed"));
    const copy: unknown = JSON.parse(JSON.stringify(message));
    const other = this.other;
    queueMicrotask(() => other?.onmessage?.(copy));
    return Promise.resolve();
  }

  close(_options?: CloseOptions): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.onclose?.();
    const other = this.other;
    this.other = null;
    return other?.close() ?? Promise.resolve();
  }
}

const encoder = new TextEncoder();
const READ_BUFFER_BYTES = 64 * 1024;
const MIN_BUFFER_BYTES = 16 * 1024;
/** A write buffer larger than this (after a huge message) is not kept for the next write. */
const KEEP_BUFFER_BYTES = 4 * 1024 * 1024;

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
