/**
 * The plugin's end of its pipes. `Deno.stdin` and `Deno.stdout` read and write on a pool of
 * blocking threads: every read and every write hands over to another thread and back, which
 * costs more than the rest of a call. When stdin and stdout are pipes (as when the core spawns
 * the plugin), they are opened as `node:net` sockets instead, which the event loop polls.
 * Anything else (a file, a terminal) keeps `Deno.stdin` and `Deno.stdout`.
 *
 * @module
 */

import { Socket } from "node:net";
import type { ByteWriter } from "../protocol/mod.ts";

/** Where the plugin reads messages from and writes them to. */
export interface PluginStdio {
  /** The bytes of stdin, chunk by chunk. */
  input: AsyncIterable<Uint8Array> | typeof Deno.stdin;
  /** Where answers go. */
  output: ByteWriter;
}

/**
 * Open stdin and stdout as polled sockets when they are pipes, else use `Deno.stdin` and
 * `Deno.stdout`.
 *
 * @returns The two ends.
 */
export function openPluginStdio(): PluginStdio {
  let input: Socket;
  let output: Socket;
  try {
    input = new Socket({ fd: 0, readable: true, writable: false });
  } catch {
    return fallback();
  }
  try {
    output = new Socket({ fd: 1, readable: false, writable: true });
  } catch {
    input.destroy();
    return fallback();
  }
  return { input: chunksOf(input), output: socketWriter(output) };
}

/** `Deno.stdin` and `Deno.stdout`, which the process closes when it exits. */
function fallback(): PluginStdio {
  return { input: Deno.stdin, output: { write: (bytes) => Deno.stdout.write(bytes) } };
}

/** The chunks a socket receives, as an async iterable; ending it destroys the socket. */
function chunksOf(socket: Socket): AsyncIterable<Uint8Array> {
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

/** A {@linkcode ByteWriter} over a socket: resolves once the socket has written the bytes. */
function socketWriter(socket: Socket): ByteWriter {
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
  };
}

/**
 * End the socket after what it holds is written; resolves then, or when the socket closes or
 * fails (the core is gone), or after a second at most, so a plugin never hangs at exit.
 */
function endOf(socket: Socket): Promise<void> {
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
