/**
 * Node streams as the transport's byte source and sink. Deno polls the pipes behind
 * `node:net` sockets and `node:child_process` stdio in its event loop, where `Deno.stdin`,
 * `Deno.stdout` and a `Deno.Command`'s streams cost a thread hand-over or an extra turn of
 * the event loop per read; the plugin (lib/plugin/_stdio.ts) and the host (lib/host/_spawn.ts)
 * both read and write through these.
 *
 * @module
 */

import type { Readable, Writable } from "node:stream";
import type { ByteWriter } from "./transport.ts";

/**
 * The chunks a Node stream receives, as an async iterable; ending it destroys the stream.
 * Lighter than the stream's own async iterator: one listener per event, no promise per chunk
 * while chunks are queued.
 *
 * @param socket A readable Node stream (a socket, a child process's stdout).
 * @returns Its chunks.
 */
export function chunksOf(socket: Readable): AsyncIterable<Uint8Array> {
  const queued: Uint8Array[] = [];
  let ended = false;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const notify = () => {
    const resume = wake;
    wake = null;
    resume?.();
  };
  socket.on("data", (chunk: Uint8Array) => {
    queued.push(chunk);
    notify();
  });
  socket.on("end", () => {
    ended = true;
    notify();
  });
  socket.on("close", () => {
    ended = true;
    notify();
  });
  socket.on("error", (error: Error) => {
    failure = error;
    notify();
  });
  return {
    [Symbol.asyncIterator]: () => ({
      async next(): Promise<IteratorResult<Uint8Array>> {
        while (queued.length === 0 && !ended && failure === null) {
          await new Promise<void>((resolve) => (wake = resolve));
        }
        if (queued.length > 0) return { value: queued.shift()!, done: false };
        if (failure) throw failure;
        return { value: undefined, done: true };
      },
      return(): Promise<IteratorResult<Uint8Array>> {
        ended = true;
        socket.destroy();
        notify();
        return Promise.resolve({ value: undefined, done: true });
      },
    }),
  };
}

/**
 * A {@linkcode ByteWriter} over a writable Node stream: a write resolves once the stream has
 * written the bytes, so the caller may reuse them.
 *
 * @param socket A writable Node stream (a socket, a child process's stdin).
 * @returns The writer.
 */
export function writerOf(socket: Writable): ByteWriter {
  // Failures reach the writer through write callbacks; without a listener they would throw.
  socket.on("error", () => {});
  return {
    write: (bytes) =>
      new Promise((resolve, reject) => {
        socket.write(bytes, (error?: Error | null) => {
          if (error) reject(error);
          else resolve(bytes.length);
        });
      }),
    close: () => endOf(socket),
    // A write the other side never reads never calls back: destroying the socket is the way out.
    abort: () => {
      socket.destroy();
      return Promise.resolve();
    },
  };
}

/**
 * End the socket after what it holds is written; resolves then, or when the socket closes or
 * fails (the core is gone), or after a second at most, so a plugin never hangs at exit.
 */
function endOf(socket: Writable): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 1000);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    socket.once("close", done);
    socket.once("error", done);
    try {
      socket.end(done);
    } catch {
      done();
    }
  });
}
