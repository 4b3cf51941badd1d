/**
 * A plugin process as the core sees it: spawned, initialized, watched, restarted with
 * backoff when it dies, and shut down cleanly. Over 300 lines: one class per stateful thing
 * (the process, its peer and its restart schedule), most of it option docs.
 *
 * @module
 */

import {
  type CapabilityName,
  type InitializeResult,
  initializeResultSchema,
} from "../capabilities/lifecycle.ts";
import { check, summarizeIssues } from "../capabilities/validate.ts";
import {
  Peer,
  PluginError,
  PROTOCOL_VERSION,
  type RequestOptions,
  type SendOptions,
  StreamTransport,
} from "../protocol/mod.ts";
import { type ExitStatus, type SpawnedProcess, spawnProcess } from "./_spawn.ts";
import { forwardLines } from "./_stderr.ts";

/** Something that happened to a plugin process, for the core's log and health. */
export type PluginProcessEvent =
  | { type: "ready"; instance: string; pid: number; restarts: number }
  | { type: "exited"; instance: string; pid: number; code: number; signal: string | null }
  | { type: "restarting"; instance: string; delay_ms: number; attempt: number }
  | { type: "restart_failed"; instance: string; error: string; attempt: number };

/** How a dead plugin is restarted. */
export interface RestartPolicy {
  /**
   * The first delay.
   *
   * @default {100}
   */
  initialDelayMs?: number;
  /**
   * The largest delay; delays double up to it.
   *
   * @default {30000}
   */
  maxDelayMs?: number;
  /**
   * A process that ran this long before dying restarts after the first delay again.
   *
   * @default {60000}
   */
  stableAfterMs?: number;
}

/** Options of {@linkcode PluginProcess.start}. */
export interface PluginProcessOptions {
  /** Path of the plugin binary. */
  command: string;
  /** Arguments for the binary (none for a built plugin). */
  args?: string[];
  /** The instance name (from gateway.yaml). */
  instance: string;
  /** The capabilities the core uses this instance for. */
  capabilities: CapabilityName[];
  /** The plugin's config block, secrets resolved. */
  config: unknown;
  /**
   * Whether observer events carry payloads.
   *
   * @default {false}
   */
  capturePayloads?: boolean;
  /** The largest line either side accepts, in bytes; the default is 16 MiB. */
  maxMessageBytes?: number;
  /**
   * Time allowed for spawn plus `initialize`.
   *
   * @default {15000}
   */
  startTimeoutMs?: number;
  /**
   * Default time allowed for each call.
   *
   * @default {30000}
   */
  callTimeoutMs?: number;
  /** Restart policy, or `false` to leave a dead plugin dead. */
  restart?: RestartPolicy | false;
  /** Extra environment variables for the process. */
  env?: Record<string, string>;
  /**
   * Receives each log record the plugin writes to stderr, with `instance` added.
   *
   * @default {writes the record as a JSON line to the host's stderr}
   */
  onLog?: (record: Record<string, unknown>) => void;
  /** Receives lifecycle events. */
  onEvent?: (event: PluginProcessEvent) => void;
  /** Receives notifications from the plugin (e.g. `upstream.chunk`). */
  onNotification?: (method: string, params: unknown) => void;
}

interface Running {
  child: SpawnedProcess;
  peer: Peer;
  startedAt: number;
}

/**
 * One plugin instance as a child process. Calls made while it is down, or restarting, fail
 * at once with an `unavailable` {@linkcode PluginError}, so the core can apply the plugin's
 * fail_mode instead of waiting.
 *
 * @example Start a plugin, call it, stop it
 * ```ts ignore
 * import { PluginProcess } from "@vulpes/contract/host";
 *
 * const plugin = await PluginProcess.start({
 *   command: "bin/authn-static-api-key",
 *   instance: "keys",
 *   capabilities: ["authenticator"],
 *   config: { keys: [] },
 * });
 * await plugin.request("health");
 * await plugin.shutdown();
 * ```
 */
export class PluginProcess {
  #options: PluginProcessOptions;
  #running: Running | null = null;
  #state: "starting" | "ready" | "restarting" | "stopped" = "starting";
  #restarts = 0;
  #attempt = 0;
  #restartTimer: ReturnType<typeof setTimeout> | undefined;
  #initialized: InitializeResult | null = null;

  private constructor(options: PluginProcessOptions) {
    this.#options = options;
  }

  /**
   * Spawn the binary and initialize it.
   *
   * @param options Command, instance, config, timeouts and callbacks.
   * @returns The ready process.
   * @throws {PluginError} `invalid_config` with every bad field when the plugin refuses its
   * config; `unavailable` when it cannot be spawned or does not answer in time.
   */
  static async start(options: PluginProcessOptions): Promise<PluginProcess> {
    const plugin = new PluginProcess(options);
    try {
      await plugin.#spawn();
    } catch (error) {
      plugin.#state = "stopped";
      throw error;
    }
    return plugin;
  }

  /** The instance name. */
  get instance(): string {
    return this.#options.instance;
  }

  /** `ready`, `restarting` (dead, a restart is scheduled), or `stopped`. */
  get state(): "starting" | "ready" | "restarting" | "stopped" {
    return this.#state;
  }

  /** The process id of the running process, if any. */
  get pid(): number | undefined {
    return this.#running?.child.pid;
  }

  /** How many times the process was restarted. */
  get restarts(): number {
    return this.#restarts;
  }

  /** What the plugin answered to `initialize`. */
  get info(): InitializeResult | null {
    return this.#initialized;
  }

  /**
   * Call a method.
   *
   * @param method The method name.
   * @param params The params.
   * @param options Signal, timeout (default: the process's `callTimeoutMs`), id callback.
   * @returns The result.
   * @throws {PluginError} What the plugin answered, or `unavailable` when it is down.
   */
  request(method: string, params?: unknown, options: RequestOptions = {}): Promise<unknown> {
    const running = this.#running;
    if (this.#state !== "ready" || !running) {
      return Promise.reject(
        new PluginError(
          "unavailable",
          `Plugin "${this.instance}" is ${this.#state === "stopped" ? "stopped" : "restarting"}`,
          { reason: this.#state },
        ),
      );
    }
    const timeoutMs = options.timeoutMs ?? this.#options.callTimeoutMs ?? 30_000;
    return running.peer.request(method, params, { ...options, timeoutMs });
  }

  /**
   * Send a notification; dropped when the process is down.
   *
   * @param method The method name.
   * @param params The params.
   * @param options Whether it may wait a few milliseconds for other messages to go with.
   */
  notify(method: string, params?: unknown, options?: SendOptions): void {
    if (this.#state === "ready") this.#running?.peer.notify(method, params, options);
  }

  /**
   * Ask the plugin to flush and exit; kill it if it does not within the time given. The time
   * covers the whole of it: the `shutdown` call, writing what is queued to the plugin, closing
   * its stdin and its exit. What is still unwritten then is dropped.
   *
   * @param options How long to wait.
   */
  async shutdown(options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const deadline = performance.now() + timeoutMs;
    clearTimeout(this.#restartTimer);
    const running = this.#running;
    const wasReady = this.#state === "ready";
    this.#state = "stopped";
    if (!running) return;
    // A plugin that stopped reading leaves writes that never finish: the deadline drops them.
    const expired = new AbortController();
    const timer = setTimeout(() => expired.abort(), timeoutMs);
    let exited: boolean;
    try {
      if (wasReady) {
        await running.peer.request("shutdown", undefined, { timeoutMs: left(deadline) })
          .catch(() => {});
      }
      await running.peer.close({ signal: expired.signal }).catch(() => {});
      exited = await waitFor(running.child.status, left(deadline));
    } finally {
      clearTimeout(timer);
    }
    if (!exited) {
      running.child.kill("SIGKILL");
      await running.child.status;
    }
  }

  /**
   * Send a signal to the process (tests use it to simulate a crash). Once it exits, what is
   * still unwritten to it is dropped.
   *
   * @param signal The signal.
   */
  kill(signal: Deno.Signal = "SIGKILL"): void {
    this.#running?.child.kill(signal);
  }

  async #spawn(restart = false): Promise<void> {
    const options = this.#options;
    let child: SpawnedProcess;
    try {
      // Its own process group: a terminal's Ctrl-C reaches the core, which then shuts the
      // plugin down (flush included) instead of the plugin dying mid-flush. A plugin whose
      // core is gone sees the end of its stdin and exits.
      child = await spawnProcess({
        command: options.command,
        args: options.args ?? [],
        ...(options.env ? { env: options.env } : {}),
      });
    } catch (error) {
      throw new PluginError(
        "unavailable",
        `Cannot start plugin "${options.instance}" from "${options.command}": ${
          (error as Error).message
        }`,
      );
    }
    const transport = new StreamTransport(
      child.stdout,
      child.stdin,
      options.maxMessageBytes ? { maxLineBytes: options.maxMessageBytes } : {},
    );
    const onLog = options.onLog ?? writeRecord;
    const peer = new Peer(transport, {
      ...(options.onNotification ? { onnotification: options.onNotification } : {}),
      onwarning: (msg) => onLog({ level: "warn", msg, instance: options.instance, source: "host" }),
    });
    forwardLines(child.stderr, (record) => onLog({ ...record, instance: options.instance }));
    const running: Running = { child, peer, startedAt: Date.now() };
    this.#running = running;
    child.status.then((status) => this.#exited(running, status));
    await peer.start();
    const init = await peer.request("initialize", {
      protocol_version: PROTOCOL_VERSION,
      instance: options.instance,
      capabilities: options.capabilities,
      config: options.config,
      settings: {
        capture_payloads: options.capturePayloads ?? false,
        ...(options.maxMessageBytes ? { max_message_bytes: options.maxMessageBytes } : {}),
      },
    }, { timeoutMs: options.startTimeoutMs ?? 15_000 }).catch(async (error) => {
      this.#running = null;
      child.kill("SIGKILL");
      await peer.close(DROP_UNWRITTEN).catch(() => {});
      throw error;
    });
    const problem = initializeProblem(init, options.capabilities);
    if (problem !== null) {
      this.#running = null;
      child.kill("SIGKILL");
      await peer.close(DROP_UNWRITTEN).catch(() => {});
      throw new PluginError(
        "unavailable",
        `Plugin "${options.instance}" answered initialize wrongly: ${problem}`,
      );
    }
    this.#initialized = init as InitializeResult;
    if (restart) this.#restarts++;
    this.#state = "ready";
    options.onEvent?.({
      type: "ready",
      instance: options.instance,
      pid: child.pid,
      restarts: this.#restarts,
    });
  }

  #exited(running: Running, status: ExitStatus): void {
    if (this.#running !== running) return;
    this.#running = null;
    // Nobody reads what is unwritten any more; waiting for it could last forever.
    running.peer.close(DROP_UNWRITTEN).catch(() => {});
    const options = this.#options;
    options.onEvent?.({
      type: "exited",
      instance: options.instance,
      pid: running.child.pid,
      code: status.code,
      signal: status.signal,
    });
    // Only a plugin that was serving restarts here; a failed start or restart is handled by
    // its caller (start() throws, a restart attempt schedules the next one).
    if (this.#state !== "ready") return;
    if (options.restart === false) {
      this.#state = "stopped";
      return;
    }
    this.#state = "restarting";
    const stable = Date.now() - running.startedAt >= (options.restart?.stableAfterMs ?? 60_000);
    if (stable) this.#attempt = 0;
    this.#scheduleRestart();
  }

  #scheduleRestart(): void {
    const policy = this.#options.restart || {};
    const initial = policy.initialDelayMs ?? 100;
    const delay = Math.min(initial * 2 ** this.#attempt, policy.maxDelayMs ?? 30_000);
    this.#attempt++;
    const attempt = this.#attempt;
    this.#options.onEvent?.({
      type: "restarting",
      instance: this.instance,
      delay_ms: delay,
      attempt,
    });
    this.#restartTimer = setTimeout(async () => {
      if (this.#state !== "restarting") return;
      try {
        await this.#spawn(true);
      } catch (error) {
        this.#options.onEvent?.({
          type: "restart_failed",
          instance: this.instance,
          error: (error as Error).message,
          attempt,
        });
        if (this.#state === "restarting") this.#scheduleRestart();
      }
    }, delay);
  }
}

/** Closes a peer at once, dropping what it has not written. */
const DROP_UNWRITTEN = { signal: AbortSignal.abort() };

/** Milliseconds left until a `performance.now()` deadline, at least 0. */
function left(deadline: number): number {
  return Math.max(0, deadline - performance.now());
}

function writeRecord(record: Record<string, unknown>): void {
  Deno.stderr.writeSync(new TextEncoder().encode(JSON.stringify(record) + "\n"));
}

async function waitFor(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const result = await Promise.race([promise.then(() => true), timeout]);
  clearTimeout(timer);
  return result;
}

function initializeProblem(init: unknown, requested: CapabilityName[]): string | null {
  const result = check(initializeResultSchema, init);
  if (!result.ok) return summarizeIssues(result.issues);
  if (result.value.protocol_version !== PROTOCOL_VERSION) {
    return `protocol version "${result.value.protocol_version}", expected "${PROTOCOL_VERSION}"`;
  }
  const missing = requested.filter((c) => !result.value.capabilities.includes(c));
  if (missing.length > 0) return `capabilities ${missing.join(", ")} are missing from its answer`;
  return null;
}
