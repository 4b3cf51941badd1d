/**
 * The connection of ratelimit-redis: one client of _client.ts at a time, kept connected, with a
 * deadline on every call (node-redis's own command timeout ends once a command is written; see
 * _deadline.ts).
 *
 * - Reconnection: node-redis reconnects a lost connection by itself (50 ms doubling up to
 *   `reconnectMaxMs`). A client that is not ready within `connectTimeoutMs + commandTimeoutMs`
 *   (a server that cannot be reached, or that accepts the connection and never answers the
 *   handshake) is destroyed and another built after the same backoff. Until a client is ready,
 *   calls fail at once (a sentinel client would hold them).
 * - A connection that stops answering without closing (a half-open TCP connection: the server
 *   or a middlebox vanished without a reset) is noticed by neither node-redis nor the kernel for
 *   minutes, and every call would wait its full deadline. After {@linkcode STUCK_AFTER} calls in
 *   a row ended at their deadline, with no answer between them, the client is destroyed (its
 *   pending calls fail at once) and a new one connects; calls fail at once meanwhile. The pause
 *   before the new one doubles (50 ms up to `reconnectMaxMs`) while replacements get no answer.
 *
 * @module
 */

import { ErrorReply } from "redis";
import { type Logger, operationSignal } from "@vulpes/contract/plugin";
import { buildClient, type BuiltClient, type ClientOptions, reconnectDelay } from "./_client.ts";
import { withDeadline } from "./_deadline.ts";
import type { ScriptCall } from "./_script.ts";

/**
 * Calls in a row that ended at `commandTimeoutMs` with no answer between them, after which the
 * connection is replaced (as in cache-redis).
 */
export const STUCK_AFTER = 3;

/** How to reach Redis, from the config, and where to log. */
export interface RedisOptions extends ClientOptions {
  logger: Logger;
}

/** A connection to Redis that runs the two scripts. */
export interface RedisConnection {
  /**
   * Runs the acquire script; rejects when Redis cannot answer within `commandTimeoutMs`, or
   * with the signal's reason when the call is cancelled first.
   */
  acquire(call: ScriptCall, signal?: AbortSignal): Promise<unknown>;
  /** Runs the settle script; rejects as {@linkcode RedisConnection.acquire} does. */
  settle(call: ScriptCall, signal?: AbortSignal): Promise<unknown>;
  /**
   * Pings the server (every master in cluster mode); rejects when one does not answer within
   * `commandTimeoutMs`. Counts towards {@linkcode STUCK_AFTER} as the scripts do.
   */
  ping(): Promise<void>;
  /** Where it connects, without credentials: `host:port` and the mode. */
  readonly target: string;
  /** Connections replaced after {@linkcode STUCK_AFTER} calls in a row got no answer. */
  readonly replacements: number;
  /**
   * Closes the connection; no more reconnection attempts. Waits up to `commandTimeoutMs` for
   * the answers of calls still pending (a stalled server may never send them), then drops it.
   */
  close(): Promise<void>;
}

/** A client and what the connection knows of it. */
interface Watched extends BuiltClient {
  /** Its `connect()` resolved: calls go to it (a sentinel client would hold them until then). */
  connected: boolean;
  /** Destroyed: no call goes to it any more. */
  dropped: boolean;
  /** It reported an error of its own. */
  errored: boolean;
}

/**
 * Builds the client and starts connecting. Resolves when connected, or after
 * `connectTimeoutMs` without a connection (it keeps trying in the background): a Redis that
 * is down at start does not stop the plugin from starting.
 */
export async function connectRedis(options: RedisOptions): Promise<RedisConnection> {
  const connection = new KeptConnection(options);
  await connection.start();
  return connection;
}

/** The connection; see the module doc. */
class KeptConnection implements RedisConnection {
  readonly target: string;
  #options: RedisOptions;
  #url: URL;
  /** `host:port`, for logs. */
  #address: string;
  #closing = new AbortController();
  #current: Watched;
  #lost = false;
  #lastError = "";
  /** Bumped by each run of #keepConnecting, so that an older run stops. */
  #epoch = 0;
  #timeoutsInRow = 0;
  #replacementsInRow = 0;
  #replacements = 0;
  /** Commands sent and not answered yet, including those whose deadline passed. */
  #waiting = new Set<Promise<unknown>>();

  constructor(options: RedisOptions) {
    this.#options = options;
    this.#url = new URL(options.url);
    const port = this.#url.port || (options.mode === "sentinel" ? 26379 : 6379);
    this.#address = `${this.#url.hostname}:${port}`;
    this.target = `${options.mode} ${this.#address}`;
    this.#current = this.#watch();
  }

  get replacements(): number {
    return this.#replacements;
  }

  /** Connects; resolves when connected or after `connectTimeoutMs`, whichever comes first. */
  async start(): Promise<void> {
    const connected = this.#keepConnecting(0);
    await this.#within(connected, this.#options.connectTimeoutMs, "").catch(() => {});
  }

  acquire(call: ScriptCall, signal?: AbortSignal): Promise<unknown> {
    return this.#run(({ client }) => client.vulpesAcquire(call.keys, call.args), signal);
  }

  settle(call: ScriptCall, signal?: AbortSignal): Promise<unknown> {
    return this.#run(({ client }) => client.vulpesSettle(call.keys, call.args), signal);
  }

  ping(): Promise<void> {
    return this.#run((built) => built.ping());
  }

  async close(): Promise<void> {
    this.#closing.abort();
    // Let the calls under way have their answers; a stalled server may never send them.
    const pending = Promise.allSettled(this.#waiting);
    await withDeadline(pending, this.#options.commandTimeoutMs).catch(() => {});
    await drop(this.#current);
  }

  #run<T>(command: (client: BuiltClient) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.#closing.signal.aborted) {
      return Promise.reject(new Error("the plugin is shutting down"));
    }
    const watched = this.#current;
    if (!watched.connected || watched.dropped) {
      return Promise.reject(
        new Error(`not connected: ${this.#lastError || "opening a connection"}`),
      );
    }
    const work = command(watched);
    this.#waiting.add(work);
    const done = () => this.#waiting.delete(work);
    work.then(done, done);
    return withDeadline(work, this.#options.commandTimeoutMs, signal).then((value) => {
      this.#answered(watched);
      return value;
    }, (error: unknown) => {
      if (error instanceof ErrorReply) this.#answered(watched);
      else if (timedOut(error, signal) && !watched.dropped) this.#timedOut();
      throw error;
    });
  }

  /** An answer, even an error reply: the connection is alive. */
  #answered(watched: Watched): void {
    if (watched.dropped) return;
    this.#timeoutsInRow = 0;
    this.#replacementsInRow = 0;
  }

  #timedOut(): void {
    if (++this.#timeoutsInRow < STUCK_AFTER) return;
    this.#replacements++;
    this.#options.logger.warn("Redis stopped answering: replacing the connection", {
      target: this.#address,
      calls_without_answer: this.#timeoutsInRow,
      replacements: this.#replacements,
    });
    this.#lost = true;
    this.#lastError = "";
    this.#timeoutsInRow = 0;
    void drop(this.#current);
    const delay = reconnectDelay(this.#replacementsInRow++, this.#options.reconnectMaxMs);
    this.#keepConnecting(delay).catch((error) => this.#onError(error));
  }

  /**
   * Connects the current client after `delayMs` (a new one if it was dropped); while it is not
   * ready in time, drops it and builds another after the backoff. Ends when one is ready, on
   * close, or when a later run took over.
   */
  async #keepConnecting(delayMs: number): Promise<void> {
    const epoch = ++this.#epoch;
    const openTimeoutMs = this.#options.connectTimeoutMs + this.#options.commandTimeoutMs;
    for (let attempt = 0;; attempt++) {
      if (delayMs > 0) await this.#sleep(delayMs);
      if (this.#closing.signal.aborted || epoch !== this.#epoch) return;
      if (this.#current.dropped) this.#current = this.#watch();
      const watched = this.#current;
      const connecting = watched.client.connect();
      // A cluster's discovery goes on after destroy(): drop what it connected.
      connecting.then(() => {
        if (watched.dropped) void drop(watched);
      }, () => {});
      try {
        await this.#within(connecting, openTimeoutMs, `not ready within ${openTimeoutMs} ms`);
        watched.connected = true;
        if (watched === this.#current) this.#onReady();
        return;
      } catch (error) {
        if (this.#closing.signal.aborted || watched !== this.#current) return;
        if (!watched.errored) this.#onError(error);
        void drop(watched);
        delayMs = reconnectDelay(attempt, this.#options.reconnectMaxMs);
      }
    }
  }

  /** A new client, whose events count while it is the current one. */
  #watch(): Watched {
    const watched: Watched = {
      ...buildClient(this.#options, this.#url),
      connected: false,
      dropped: false,
      errored: false,
    };
    const current = () => watched === this.#current && !watched.dropped;
    const onError = (error: unknown) => {
      if (!current()) return;
      watched.errored = true;
      this.#onError(error);
    };
    const onReady = () => {
      if (current()) this.#onReady();
    };
    for (const event of ["error", "node-error"]) watched.client.on(event, onError);
    for (const event of ["ready", "node-ready"]) watched.client.on(event, onReady);
    return watched;
  }

  #onError(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (!this.#lost || message !== this.#lastError) {
      this.#options.logger.warn("Redis cannot be reached", {
        target: this.#address,
        error: message,
      });
    }
    this.#lost = true;
    this.#lastError = message;
  }

  #onReady(): void {
    if (this.#lost) {
      this.#options.logger.info("Redis connection restored", { target: this.#address });
    }
    this.#lost = false;
    this.#lastError = "";
  }

  /** `work`'s outcome, or a rejection with `message` when `ms` pass first or on close. */
  async #within<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
    using deadline = operationSignal(this.#closing.signal, ms, message);
    const { signal } = deadline;
    const late = new Promise<never>((_, reject) => {
      if (signal.aborted) reject(signal.reason);
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
    return await Promise.race([work, late]);
  }

  /** A pause of `ms`, cut short on close (no timer outlives the connection). */
  #sleep(ms: number): Promise<void> {
    return this.#within(new Promise<never>(() => {}), ms, "").catch(() => {});
  }
}

/**
 * Destroys the client: its pending calls fail at once. Not close(), which would wait for every
 * answer still due (a stalled server never sends them).
 */
async function drop(watched: Watched): Promise<void> {
  watched.dropped = true;
  try {
    await watched.client.destroy();
  } catch { /* it was not open */ }
}

/** Whether `error` is the call's own deadline, rather than its cancellation or an error. */
function timedOut(error: unknown, signal: AbortSignal | undefined): boolean {
  return error instanceof DOMException && error.name === "TimeoutError" &&
    !(signal?.aborted === true && error === signal.reason);
}
