/**
 * The entry point of a plugin binary: `--describe`, the terminal hint, and serving over stdio.
 *
 * @module
 */

import { StreamTransport } from "../protocol/mod.ts";
import { openPluginStdio } from "./_stdio.ts";
import type { PluginDefinition } from "./definition.ts";
import { buildManifest } from "./manifest.ts";
import { servePlugin, type ServePluginOptions } from "./serve.ts";
import { exitOnUncaught } from "./uncaught.ts";

/** Options of {@linkcode runPlugin}; the defaults are the process's own. */
export interface RunPluginOptions extends ServePluginOptions {
  /**
   * Command-line arguments.
   *
   * @default {Deno.args}
   */
  args?: string[];
  /**
   * Where messages come from.
   *
   * @default {stdin: a polled socket when it is a pipe, else Deno.stdin}
   */
  stdin?: ReadableStream<Uint8Array>;
  /**
   * Where messages and `--describe` go.
   *
   * @default {stdout: a polled socket when it is a pipe, else Deno.stdout}
   */
  stdout?: WritableStream<Uint8Array>;
  /**
   * Whether stdin is a terminal (someone ran the binary by hand).
   *
   * @default {Deno.stdin.isTerminal()}
   */
  isTerminal?: boolean;
  /**
   * Ends the process with a code.
   *
   * @default {Deno.exit}
   */
  exit?: (code: number) => void;
}

const USAGE = (name: string) =>
  `${name}: a vulpes plugin. It speaks JSON-RPC on stdin/stdout and is started by the gateway.\n` +
  `Usage: ${name} --describe   print the manifest (capabilities, config schema, permissions)\n`;

/**
 * Run a plugin as a process: print the manifest on `--describe`, show a hint when started by
 * hand on a terminal, otherwise serve the protocol on stdin/stdout until `shutdown` or end of
 * input, then exit. It never rejects: failures are logged and turn into a non-zero exit code.
 *
 * @param definition The plugin definition.
 * @param options Overrides of arguments, streams and exit, for tests.
 * @returns The exit code, after calling `exit` with it.
 *
 * @example The `main.ts` of a plugin
 * ```ts ignore
 * import { runPlugin } from "@vulpes/contract/plugin";
 * import { plugin } from "./mod.ts";
 *
 * if (import.meta.main) runPlugin(plugin);
 * ```
 */
export async function runPlugin<Config>(
  definition: PluginDefinition<Config>,
  options: RunPluginOptions = {},
): Promise<number> {
  const exit = options.exit ?? ((code: number) => Deno.exit(code));
  const args = options.args ?? Deno.args;
  let code = 0;
  try {
    if (args.includes("--describe")) {
      await writeAll(options.stdout, JSON.stringify(buildManifest(definition), null, 2) + "\n");
    } else if (args.includes("--help") || args.includes("-h")) {
      await writeAll(options.stdout, USAGE(definition.name));
    } else if (args.length > 0) {
      writeStderr(`${USAGE(definition.name)}Unknown argument "${args[0]}"\n`);
      code = 2;
    } else if (options.isTerminal ?? Deno.stdin.isTerminal()) {
      writeStderr(USAGE(definition.name));
      code = 1;
    } else {
      const stdio = options.stdin && options.stdout ? null : openPluginStdio();
      const transport = new StreamTransport(
        options.stdin ?? stdio!.input,
        options.stdout ?? stdio!.output,
      );
      const served = servePlugin(definition, transport, options);
      // served.logger changes at initialize (it gains the instance): read it when needed.
      const stopUncaught = exitOnUncaught({
        error: (msg, fields) => served.logger.error(msg, fields),
      }, { exit, what: "the plugin" });
      try {
        await served.done;
      } finally {
        stopUncaught();
      }
    }
  } catch (error) {
    writeStderr(
      JSON.stringify({
        time: new Date().toISOString(),
        level: "error",
        msg: "plugin failed",
        plugin: definition.name,
        error: error instanceof Error ? error.message : String(error),
      }) + "\n",
    );
    code = 1;
  }
  exit(code);
  return code;
}

async function writeAll(
  stream: WritableStream<Uint8Array> | undefined,
  text: string,
): Promise<void> {
  const writer = (stream ?? Deno.stdout.writable).getWriter();
  try {
    await writer.write(new TextEncoder().encode(text));
  } finally {
    writer.releaseLock();
  }
}

function writeStderr(text: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(text));
}
