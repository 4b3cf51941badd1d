/**
 * The connection of cache-redis: one {@linkcode Backend} at a time, kept connected, and every
 * failure turned into an `unavailable` plugin error whose message names the cause and holds
 * no secret.
 *
 * - Reconnection: node-redis reconnects a lost connection by itself (50 ms doubling up to
 *   `reconnect_max_delay_ms`). When `connect()` itself fails (a cluster or sentinel that
 *   cannot be reached at all), the backend is replaced after the same backoff.
 * - A server that stops answering: after {@linkcode STUCK_AFTER} commands in a row timed out
 *   with no answer between them, the backend is closed and a new one connects, so a
 *   half-open connection does not last until TCP gives up.
 * - Logs: one line when the connection is up, one when it is lost or cannot be opened (not
 *   one per attempt), one when the backend is replaced.
 *
 * @module
 */

import type { Logger } from "@vulpes/contract/plugin";
import { PluginError } from "@vulpes/contract/plugin";
import { type Backend, reconnectDelay } from "./_backend.ts";
import { CommandTimeoutError } from "./_deadline.ts";

/** Commands in a row that got no answer in time before the backend is replaced. */
export const STUCK_AFTER = 3;

/** What a {@linkcode RedisConnection} needs. */
export interface ConnectionOptions {
  /** A new, unconnected backend; called at start and after each replacement. */
  create: (hooks: { onError: (error: unknown) => void; onReady: () => void }) => Backend;
  /** The plugin's logger. */
  logger: Logger;
  /** `host:port` of the nodes, for messages. */
  nodes: string[];
  /** Strings to cut from every error message (passwords); the runtime redacts the config's. */
  secrets: string[];
  /** Longest pause before replacing a backend that could not connect. */
  reconnectMaxDelayMs: number;
  /** A number in [0, 1). */
  random: () => number;
}

/** The connection's state, for `health`. */
export interface ConnectionStatus {
  /** Commands can be sent now. */
  connected: boolean;
  /** Backends replaced (after a failed connect or a stuck connection). */
  replaced: number;
  /** Commands that failed (not connected, timed out or refused). */
  failures: number;
  /** Of those, commands that timed out. */
  timeouts: number;
  /** The last connection or command error, without secrets. */
  last_error?: string;
}

/** Cut every secret out of a message. */
export function withoutSecrets(message: string, secrets: string[]): string {
  let out = message;
  for (const secret of secrets) {
    if (secret.length === 0) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) {
      out = out.split(form).join("[redacted]");
    }
  }
  return out;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** One Redis deployment, kept connected; see the module doc. */
export class RedisConnection {
  #options: ConnectionOptions;
  #backend: Backend | undefined;
  #closed = false;
  #up = false;
  #complained = false;
  #timeoutsInRow = 0;
  #attempt = 0;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #status: Omit<ConnectionStatus, "connected"> = { replaced: 0, failures: 0, timeouts: 0 };

  /** @param options How to make backends and where to log. */
  constructor(options: ConnectionOptions) {
    this.#options = options;
  }

  /** Start connecting in the background; calls fail as `unavailable` until connected. */
  start(): void {
    this.#open();
  }

  /** The state, for `health`. */
  status(): ConnectionStatus {
    return { connected: this.#backend?.ready ?? false, ...this.#status };
  }

  /**
   * Run one operation on the current backend; see the module doc for its failures. `counted:
   * false` keeps it out of `failures` and `timeouts` (the health check's `PING`).
   */
  async run<T>(
    what: string,
    operation: (backend: Backend) => Promise<T>,
    signal?: AbortSignal,
    counted = true,
  ): Promise<T> {
    const backend = this.#backend;
    if (this.#closed || backend === undefined) {
      throw new PluginError("unavailable", `Cannot ${what}: the plugin is shutting down`, {
        reason: "closed",
      });
    }
    try {
      const result = await operation(backend);
      this.#timeoutsInRow = 0;
      return result;
    } catch (error) {
      if (signal?.aborted && error === signal.reason) throw error;
      throw this.#failure(what, backend, error, counted);
    }
  }

  /** Stop reconnecting and close the backend. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    const backend = this.#backend;
    this.#backend = undefined;
    await backend?.close();
  }

  #failure(what: string, backend: Backend, error: unknown, counted: boolean): PluginError {
    if (counted) this.#status.failures++;
    const where = this.#options.nodes.join(", ");
    if (error instanceof CommandTimeoutError) {
      if (counted) this.#status.timeouts++;
      this.#status.last_error = `no answer within ${error.timeoutMs} ms`;
      if (++this.#timeoutsInRow >= STUCK_AFTER && backend === this.#backend) {
        this.#replace(`${this.#timeoutsInRow} commands in a row got no answer in time`);
      }
      return new PluginError(
        "unavailable",
        `Cannot ${what}: Redis (${where}) did not answer within ${error.timeoutMs} ms`,
        { reason: "timeout" },
      );
    }
    if (!backend.ready) {
      const cause = this.#status.last_error ?? "still connecting";
      return new PluginError(
        "unavailable",
        `Cannot ${what}: not connected to Redis (${where}): ${cause}`,
        { reason: "disconnected" },
      );
    }
    const detail = withoutSecrets(messageOf(error), this.#options.secrets);
    this.#status.last_error = detail;
    return new PluginError("unavailable", `Cannot ${what}: Redis (${where}) answered: ${detail}`, {
      reason: "error",
    });
  }

  #open(): void {
    if (this.#closed) return;
    const backend = this.#options.create({
      onError: (error) => {
        if (backend === this.#backend) this.#onError(error);
      },
      onReady: () => {
        if (backend === this.#backend) this.#onReady();
      },
    });
    this.#backend = backend;
    backend.connect().catch((error) => {
      if (backend !== this.#backend || this.#closed) return;
      this.#onError(error);
      const delay = reconnectDelay(
        this.#attempt++,
        this.#options.reconnectMaxDelayMs,
        this.#options.random,
      );
      this.#retry = setTimeout(() => {
        if (backend !== this.#backend) return;
        this.#status.replaced++;
        backend.close().catch(() => {});
        this.#open();
      }, delay);
    });
  }

  #replace(why: string): void {
    const old = this.#backend;
    this.#options.logger.warn("Redis stopped answering; reconnecting", {
      nodes: this.#options.nodes,
      why,
    });
    this.#status.replaced++;
    this.#timeoutsInRow = 0;
    this.#up = false;
    this.#complained = true;
    old?.close().catch(() => {});
    this.#open();
  }

  #onReady(): void {
    this.#attempt = 0;
    this.#complained = false;
    if (this.#up) return;
    this.#up = true;
    this.#options.logger.info("connected to Redis", { nodes: this.#options.nodes });
  }

  #onError(error: unknown): void {
    const message = withoutSecrets(messageOf(error), this.#options.secrets);
    this.#status.last_error = message;
    if (this.#up) {
      this.#up = false;
      this.#complained = true;
      this.#options.logger.warn("lost the connection to Redis; reconnecting", {
        nodes: this.#options.nodes,
        error: message,
      });
    } else if (!this.#complained) {
      this.#complained = true;
      this.#options.logger.warn("cannot connect to Redis; retrying", {
        nodes: this.#options.nodes,
        error: message,
      });
    }
  }
}
