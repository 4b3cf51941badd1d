/**
 * Reading a plugin binary's manifest with `--describe`.
 *
 * @module
 */

import { type Manifest, manifestSchema } from "../capabilities/lifecycle.ts";
import { check, summarizeIssues } from "../capabilities/validate.ts";

/** Options of {@linkcode describePlugin}. */
export interface DescribePluginOptions {
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
      args: ["--describe"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    throw new Error(`Cannot run "${command} --describe": ${(error as Error).message}`);
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, timeoutMs);
  const output = await child.output().finally(() => clearTimeout(timer));
  const stderr = new TextDecoder().decode(output.stderr).trim().slice(0, 2000);
  if (output.signal === "SIGKILL") {
    throw new Error(`Cannot describe "${command}": no manifest within ${timeoutMs} ms`);
  }
  if (!output.success) {
    throw new Error(
      `Cannot describe "${command}": it exited with code ${output.code}${
        stderr ? `: ${stderr}` : ""
      }`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(output.stdout));
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
