/**
 * Starting a plugin's process with its three pipes. Two ways, one shape:
 *
 * - `node:child_process`, for a plugin binary or launcher. Its stdout is read the way a Node
 *   socket is: the event loop polls the pipe, so an answer that arrives while a read is pending
 *   wakes the host at once. Through `Deno.Command`'s stream a pending read waits for another
 *   turn of the event loop, which doubled the p99 of a round trip (BENCHMARKS.md).
 * - `Deno.Command`, when the command line runs Deno itself. Deno's `node:child_process`
 *   rewrites such a command line as if it were `node`'s: a `deno run` without any `--allow-*`
 *   flag gets `--allow-all`, which would hand a plugin that is meant to hold no permission
 *   every one of them.
 *
 * @module
 */

import { spawn as spawnNode } from "node:child_process";
import { constants } from "node:os";
import type { ByteWriter } from "../protocol/mod.ts";
import { chunksOf, writerOf } from "../protocol/_node_streams.ts";

/** How the process ended. */
export interface ExitStatus {
  /** The exit code; 128 + the signal's number when a signal ended it. */
  code: number;
  /** The signal that ended it, if one did. */
  signal: string | null;
}

/** A started plugin process. */
export interface SpawnedProcess {
  /** Its process id. */
  pid: number;
  /** What it writes to stdout. */
  stdout: AsyncIterable<Uint8Array>;
  /** Its stdin; a write resolves once the bytes left the caller's buffer. */
  stdin: ByteWriter;
  /** What it writes to stderr. */
  stderr: AsyncIterable<Uint8Array>;
  /** Settles when it exited. */
  status: Promise<ExitStatus>;
  /** Send it a signal; nothing happens when it is gone. */
  kill(signal: Deno.Signal): void;
}

/** What to start. */
export interface SpawnOptions {
  command: string;
  args: string[];
  /** Variables added to the host's environment. */
  env?: Record<string, string>;
}

/**
 * Start the process in a process group of its own, stdin, stdout and stderr piped.
 *
 * @param options Command, arguments, environment.
 * @returns The process, once it runs.
 * @throws {Error} When it cannot be started (no such file, not executable, no permission).
 */
export function spawnProcess(options: SpawnOptions): Promise<SpawnedProcess> {
  return runsDeno(options) ? Promise.resolve(spawnDeno(options)) : spawnPolled(options);
}

/** Whether Deno's `node:child_process` would rewrite this command line (see the module doc). */
export function runsDeno(options: Pick<SpawnOptions, "command" | "args">): boolean {
  const deno = Deno.execPath();
  if (options.command === deno || options.args.includes(deno)) return true;
  // A shell command line (`sh -c …`, `cmd /d /s /c …`) is rewritten when it names deno.
  const shell = options.args[0] === "-c" ||
    (options.args[0] === "/d" && options.args[1] === "/s" && options.args[2] === "/c");
  return shell;
}

function spawnDeno(options: SpawnOptions): SpawnedProcess {
  const child = new Deno.Command(options.command, {
    args: options.args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    detached: true,
    ...(options.env ? { env: options.env } : {}),
  }).spawn();
  const writer = child.stdin.getWriter();
  return {
    pid: child.pid,
    stdout: child.stdout,
    stderr: child.stderr,
    // Deno's pipe stream is done with a chunk once its write resolves.
    stdin: {
      write: async (bytes) => {
        await writer.write(bytes);
        return bytes.length;
      },
      close: () => writer.close(),
      // Settles only once a write in progress does (the pipe breaks when the process dies).
      abort: (reason) => writer.abort(reason),
    },
    status: child.status.then(({ code, signal }) => ({ code, signal })),
    kill: (signal) => {
      try {
        child.kill(signal);
      } catch { /* gone */ }
    },
  };
}

function spawnPolled(options: SpawnOptions): Promise<SpawnedProcess> {
  const child = spawnNode(options.command, options.args, {
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
    ...(options.env ? { env: { ...Deno.env.toObject(), ...options.env } } : {}),
  });
  const status = new Promise<ExitStatus>((resolve) => {
    child.once("exit", (code, signal) => {
      const number = signal ? (constants.signals as Record<string, number>)[signal] ?? 0 : 0;
      resolve({ code: code ?? 128 + number, signal: signal ?? null });
    });
  });
  return new Promise((resolve, reject) => {
    // Before "spawn": it could not be started. After: a failed kill or a pipe error, which the
    // exit status and the transport report; a listener stays so that it is never thrown.
    child.on("error", (error) => reject(new Error(error.message)));
    child.once("spawn", () =>
      resolve({
        pid: child.pid!,
        stdout: chunksOf(child.stdout!),
        stderr: chunksOf(child.stderr!),
        stdin: writerOf(child.stdin!),
        status,
        kill: (signal) => {
          try {
            child.kill(signal as NodeJS.Signals);
          } catch { /* gone */ }
        },
      }));
  });
}
