/**
 * Reading a plugin binary's manifest with `--describe`.
 *
 * @module
 */

import { type Manifest, manifestSchema } from "../capabilities/lifecycle.ts";
import { check, summarizeIssues } from "../capabilities/validate.ts";

/** Options of {@linkcode describePlugin}. */
export interface DescribePluginOptions {
  /** Arguments before `--describe` (for a plugin run as `deno run … main.ts`). */
  args?: string[];
  /**
   * How long the binary may take.
   *
   * @default {10000}
   */
  timeoutMs?: number;
}

/**
 * Run `<command> --describe` and return its manifest. The binary's stdin stays open and
 * unwritten: a binary that waits for input instead of answering times out.
 *
 * @param command Path of the plugin binary.
 * @param options Timeout.
 * @returns The validated manifest.
 * @throws {Error} The binary cannot be started, fails, times out, or prints an invalid
 * manifest; the message names the command and what was wrong.
 *
 * @example Describe a built plugin
 * ```ts ignore
 * import { describePlugin } from "@vulpes/contract/host";
 *
 * const manifest = await describePlugin("bin/authn-static-api-key");
 * console.log(manifest.capabilities); // ["authenticator"]
 * ```
 */
export async function describePlugin(
  command: string,
  options: DescribePluginOptions = {},
): Promise<Manifest> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(command, {
      args: [...(options.args ?? []), "--describe"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    throw new Error(`Cannot run "${command} --describe": ${(error as Error).message}`);
  }
  // Read the pipes ourselves: a killed binary's children may hold them open.
  const stdout = collect(child.stdout);
  const stderrText = collect(child.stderr);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    stdout.cancel();
    stderrText.cancel();
  }, timeoutMs);
  const status = await child.status;
  const [out, err] = await Promise.all([stdout.bytes, stderrText.bytes]);
  clearTimeout(timer);
  const stderr = new TextDecoder().decode(err).trim().slice(0, 2000);
  if (timedOut) {
    throw new Error(`Cannot describe "${command}": no manifest within ${timeoutMs} ms`);
  }
  if (!status.success) {
    throw new Error(
      `Cannot describe "${command}": it exited with code ${status.code}${
        stderr ? `: ${stderr}` : ""
      }`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(out));
  } catch {
    throw new Error(`Cannot describe "${command}": its --describe output is not JSON`);
  }
  const result = check(manifestSchema, value);
  if (!result.ok) {
    throw new Error(
      `Cannot describe "${command}": invalid manifest: ${summarizeIssues(result.issues)}`,
    );
  }
  return result.value;
}

const MAX_DESCRIBE_BYTES = 4 * 1024 * 1024;

function collect(
  stream: ReadableStream<Uint8Array>,
): { bytes: Promise<Uint8Array>; cancel(): void } {
  const reader = stream.getReader();
  const bytes = (async () => {
    const chunks: Uint8Array[] = [];
    let length = 0;
    try {
      while (length <= MAX_DESCRIBE_BYTES) {
        const { value, done } = await reader.read();
        if (done) break;
        chunks.push(value);
        length += value.length;
      }
    } catch { /* cancelled */ }
    reader.releaseLock();
    const out = new Uint8Array(length);
    let offset = 0;
    for (const chunk of chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  })();
  return { bytes, cancel: () => void reader.cancel().catch(() => {}) };
}
