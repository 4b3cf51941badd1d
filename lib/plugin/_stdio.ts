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
import { chunksOf, writerOf } from "../protocol/_node_streams.ts";

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
  return { input: chunksOf(input), output: writerOf(output) };
}

/** `Deno.stdin` and `Deno.stdout`, which the process closes when it exits. */
function fallback(): PluginStdio {
  return { input: Deno.stdin, output: { write: (bytes) => Deno.stdout.write(bytes) } };
}
