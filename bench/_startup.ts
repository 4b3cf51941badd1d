/**
 * Startup of a plugin process, split in two without touching the plugin: at spawn the probe
 * writes `health` and then `initialize` on the plugin's stdin. The plugin answers `health`
 * (`unavailable: not initialized`) as soon as its stdio loop runs, which is after the deno
 * runtime booted and the whole module graph was loaded; it answers `initialize` after its
 * config was validated and its instance created (connections, listeners).
 *
 * @module
 */

import { PROTOCOL_VERSION } from "@vulpes/contract/protocol";
import type { CapabilityName } from "@vulpes/contract/capabilities";

/** The two moments of one startup, in milliseconds since spawn. */
export interface StartupSample {
  /** The `health` answer: runtime booted, modules loaded, stdio loop running. */
  loadedMs: number;
  /** The `initialize` answer. */
  initializedMs: number;
}

/** What the probe sends in `initialize`. */
export interface StartupProbeOptions {
  /** The binary. */
  command: string;
  /** The capabilities. */
  capabilities: CapabilityName[];
  /** The config. */
  config: unknown;
  /**
   * Observer payloads on.
   *
   * @default {false}
   */
  capturePayloads?: boolean;
  /**
   * Longest wait for both answers.
   *
   * @default {30000}
   */
  timeoutMs?: number;
}

function line(message: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(message) + "\n");
}

/**
 * Spawn the plugin, time its `health` and `initialize` answers, then shut it down.
 *
 * @param options Binary, capabilities, config.
 * @returns Both times.
 * @throws {Error} When an answer is an error or does not come in time.
 */
export async function probeStartup(options: StartupProbeOptions): Promise<StartupSample> {
  const started = performance.now();
  const child = new Deno.Command(options.command, {
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
  try {
    await writer.write(line({ jsonrpc: "2.0", id: 0, method: "health" }));
    await writer.write(line({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocol_version: PROTOCOL_VERSION,
        instance: "bench",
        capabilities: options.capabilities,
        config: options.config,
        settings: { capture_payloads: options.capturePayloads ?? false },
      },
    }));
    const times = new Map<number, number>();
    let buffer = "";
    for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffer += text;
      let end;
      while ((end = buffer.indexOf("\n")) !== -1) {
        const answer = JSON.parse(buffer.slice(0, end));
        buffer = buffer.slice(end + 1);
        if (answer.error) throw new Error(`Plugin answered an error: ${answer.error.message}`);
        times.set(answer.id, performance.now() - started);
      }
      if (times.has(0) && times.has(1)) break;
    }
    if (!times.has(0) || !times.has(1)) throw new Error("The plugin exited before answering");
    await writer.write(line({ jsonrpc: "2.0", id: 2, method: "shutdown" }));
    return { loadedMs: times.get(0)!, initializedMs: times.get(1)! };
  } finally {
    await writer.close().catch(() => {});
    await child.stdout.cancel().catch(() => {});
    clearTimeout(timer);
    await waitExit(child, 5_000);
  }
}

/**
 * Wait for a child to exit; SIGKILL it when it has not within `ms`.
 *
 * @param child The process.
 * @param ms How long to wait.
 */
export async function waitExit(child: Deno.ChildProcess, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const exited = await Promise.race([child.status.then(() => true), late]);
  clearTimeout(timer);
  if (!exited) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
  }
}
