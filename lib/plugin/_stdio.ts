/**
 * The plugin's end of its pipes. `Deno.stdin` and `Deno.stdout` read and write on a pool of
 * blocking threads: every read and every write hands over to another thread and back, which
 * costs more than the rest of a call. When stdin and stdout are pipes (as when the core spawns
 * the plugin), they are opened as `node:net` sockets instead, which the event loop polls.
 * Anything else (a file, a terminal) keeps `Deno.stdin` or `Deno.stdout`.
 *
 * @module
 */

import { fstatSync } from "node:fs";
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
 * Open stdin and stdout as polled sockets where they are pipes; `Deno.stdin` and `Deno.stdout`
 * for whatever they are not (a file: `bin/plugin < calls.jsonl > answers.jsonl`, a terminal).
 * Each is decided on its own: a socket on a regular file fails only at its first write.
 *
 * @returns The two ends.
 */
export function openPluginStdio(): PluginStdio {
  return {
    input: isPipe(0)
      ? chunksOf(new Socket({ fd: 0, readable: true, writable: false }))
      : Deno.stdin,
    output: isPipe(1)
      ? writerOf(new Socket({ fd: 1, readable: false, writable: true }))
      : { write: (bytes) => Deno.stdout.write(bytes) },
  };
}

/** Whether a file descriptor is a pipe or a socket (fstat needs no permission). */
function isPipe(fd: number): boolean {
  try {
    const stat = fstatSync(fd);
    return stat.isFIFO() || stat.isSocket();
  } catch {
    return false;
  }
}
