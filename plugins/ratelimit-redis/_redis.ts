/**
 * The connection of ratelimit-redis: a node-redis client (standalone, cluster or sentinel)
 * with the two scripts registered (EVALSHA, and EVAL when the server answers NOSCRIPT, e.g.
 * after a restart), commands that fail at once while disconnected instead of queueing, a
 * deadline on every call (node-redis's own command timeout ends once a command is written; see
 * _deadline.ts), and reconnection with capped backoff in the background.
 *
 * @module
 */

import { createClient, createCluster, createSentinel, defineScript } from "redis";
import type { Logger } from "@vulpes/contract/plugin";
import { withDeadline } from "./_deadline.ts";
import { ACQUIRE_LUA, SETTLE_LUA } from "./_lua.ts";
import type { ScriptCall } from "./_script.ts";

/** How to reach Redis, from the config. */
export interface RedisOptions {
  url: string;
  password?: string | undefined;
  mode: "standalone" | "cluster" | "sentinel";
  sentinel?: { master_name: string; nodes: readonly string[] } | undefined;
  tls?: { ca?: string | undefined; servername?: string | undefined; reject_unauthorized: boolean };
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  reconnectMaxMs: number;
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
   * `commandTimeoutMs`.
   */
  ping(): Promise<void>;
  /** Where it connects, without credentials: `host:port` and the mode. */
  readonly target: string;
  /**
   * Closes the connection; no more reconnection attempts. Waits up to `commandTimeoutMs` for
   * the answers of calls still pending (a stalled server may never send them), then drops it.
   */
  close(): Promise<void>;
}

/** The shape of the script commands node-redis adds to a client. */
interface ScriptClient {
  vulpesAcquire(keys: string[], args: string[]): Promise<unknown>;
  vulpesSettle(keys: string[], args: string[]): Promise<unknown>;
  connect(): Promise<unknown>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  close(): Promise<unknown>;
  destroy(): unknown;
}

function script(source: string) {
  return defineScript(
    {
      SCRIPT: source,
      parseCommand(parser, keys: string[], args: string[]) {
        parser.pushKeysLength(keys);
        parser.push(...args);
      },
      transformReply: (reply: unknown) => reply,
    } as const,
  );
}

const SCRIPTS = { vulpesAcquire: script(ACQUIRE_LUA), vulpesSettle: script(SETTLE_LUA) };

/**
 * Creates the client and starts connecting. Resolves when connected, or after
 * `connectTimeoutMs` without a connection (it keeps trying in the background): a Redis that
 * is down at start does not stop the plugin from starting.
 */
export async function connectRedis(options: RedisOptions): Promise<RedisConnection> {
  const { logger } = options;
  const url = new URL(options.url);
  const target = `${url.hostname}:${url.port || (options.mode === "sentinel" ? 26379 : 6379)}`;
  const built = build(options, url);
  const client = built.client;
  let closed = false;
  let lost = false;
  let lastError = "";

  function onError(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (!lost || message !== lastError) {
      logger.warn("Redis cannot be reached", { target, error: message });
    }
    lost = true;
    lastError = message;
  }
  function onReady(): void {
    if (lost) logger.info("Redis connection restored", { target });
    lost = false;
    lastError = "";
  }
  client.on("error", onError);
  client.on("node-error", onError);
  client.on("ready", onReady);
  client.on("node-ready", onReady);

  // Cluster and sentinel clients give up when the first connection fails: try again.
  const connected = (async function keepConnecting() {
    for (let attempt = 0; !closed; attempt++) {
      try {
        await client.connect();
        onReady();
        return;
      } catch (error) {
        onError(error);
        await sleep(Math.min(50 * 2 ** attempt, options.reconnectMaxMs));
      }
    }
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    connected,
    new Promise((resolve) => timer = setTimeout(resolve, options.connectTimeoutMs)),
  ]);
  clearTimeout(timer);

  /** Commands sent and not answered yet, including those whose deadline passed. */
  const waiting = new Set<Promise<unknown>>();
  function run<T>(command: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (closed) return Promise.reject(new Error("the plugin is shutting down"));
    const work = command();
    waiting.add(work);
    const done = () => waiting.delete(work);
    work.then(done, done);
    return withDeadline(work, options.commandTimeoutMs, signal);
  }

  return {
    target: `${options.mode} ${target}`,
    acquire: (call, signal) => run(() => client.vulpesAcquire(call.keys, call.args), signal),
    settle: (call, signal) => run(() => client.vulpesSettle(call.keys, call.args), signal),
    ping: () => run(built.ping),
    async close() {
      closed = true;
      // Let the calls under way have their answers; a stalled server may never send them.
      await withDeadline(Promise.allSettled(waiting), options.commandTimeoutMs).catch(() => {});
      try {
        // close() would wait for every answer still due: destroy() drops them.
        await (waiting.size === 0 ? client.close() : client.destroy());
      } catch { /* it was not open */ }
    },
  };
}

function build(options: RedisOptions, url: URL): { client: ScriptClient; ping(): Promise<void> } {
  const reconnectStrategy = (retries: number) =>
    Math.min(50 * 2 ** retries, options.reconnectMaxMs);
  const tls = url.protocol === "rediss:"
    ? {
      tls: true as const,
      rejectUnauthorized: options.tls?.reject_unauthorized ?? true,
      ...(options.tls?.ca === undefined ? {} : { ca: options.tls.ca }),
      ...(options.tls?.servername === undefined ? {} : { servername: options.tls.servername }),
    }
    : {};
  const socket = { connectTimeout: options.connectTimeoutMs, reconnectStrategy, ...tls };
  const common = {
    disableOfflineQueue: true,
    commandOptions: { timeout: options.commandTimeoutMs },
    ...(options.password === undefined ? {} : { password: options.password }),
  };
  if (options.mode === "standalone") {
    const client = createClient({ url: options.url, socket, scripts: SCRIPTS, ...common });
    return {
      client: client as unknown as ScriptClient,
      ping: async () => void await client.ping(),
    };
  }
  if (options.mode === "cluster") {
    // Nodes found through the seed get the seed's credentials.
    const cluster = createCluster({
      rootNodes: [{ url: options.url }],
      defaults: { socket, ...credentials(url), ...common },
      commandOptions: { timeout: options.commandTimeoutMs },
      scripts: SCRIPTS,
    });
    return {
      client: cluster as unknown as ScriptClient,
      async ping() {
        const masters = cluster.masters;
        if (masters.length === 0) throw new Error("no cluster master is known yet");
        await Promise.all(masters.map(async (master) => {
          await (await cluster.nodeClient(master)).ping();
        }));
      },
    };
  }
  const sentinels = [url.host, ...(options.sentinel?.nodes ?? [])].map((address) => {
    const at = address.lastIndexOf(":");
    return { host: address.slice(0, at), port: Number(address.slice(at + 1)) || 26379 };
  });
  const sentinel = createSentinel({
    name: options.sentinel?.master_name ?? "",
    sentinelRootNodes: sentinels,
    nodeClientOptions: { socket, ...common },
    sentinelClientOptions: { socket, ...credentials(url) },
    commandOptions: { timeout: options.commandTimeoutMs },
    scripts: SCRIPTS,
  });
  return {
    client: sentinel as unknown as ScriptClient,
    ping: async () => void await sentinel.ping(),
  };
}

function credentials(url: URL): { username?: string; password?: string } {
  return {
    ...(url.username === "" ? {} : { username: decodeURIComponent(url.username) }),
    ...(url.password === "" ? {} : { password: decodeURIComponent(url.password) }),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
