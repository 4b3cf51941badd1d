/**
 * The node-redis client of ratelimit-redis, built for the configured mode (standalone, cluster
 * or sentinel) with the two scripts registered (EVALSHA, and EVAL when the server answers
 * NOSCRIPT, e.g. after a restart) and commands that fail at once while disconnected instead of
 * queueing. Building connects nothing; _redis.ts connects, watches and replaces clients.
 *
 * @module
 */

import { createClient, createCluster, createSentinel, defineScript } from "redis";
import { ACQUIRE_LUA, SETTLE_LUA } from "./_lua.ts";

/** How to reach Redis, from the config. */
export interface ClientOptions {
  url: string;
  password?: string | undefined;
  mode: "standalone" | "cluster" | "sentinel";
  sentinel?: { master_name: string; nodes: readonly string[] } | undefined;
  tls?: { ca?: string | undefined; servername?: string | undefined; reject_unauthorized: boolean };
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  reconnectMaxMs: number;
}

/** The shape of the script commands node-redis adds to a client. */
export interface ScriptClient {
  vulpesAcquire(keys: string[], args: string[]): Promise<unknown>;
  vulpesSettle(keys: string[], args: string[]): Promise<unknown>;
  connect(): Promise<unknown>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  destroy(): unknown;
}

/** A client and how to ping every server it sends scripts to. */
export interface BuiltClient {
  client: ScriptClient;
  ping(): Promise<void>;
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

/** The pause before reconnection attempt `retries` (0-based): 50 ms doubling, capped. */
export function reconnectDelay(retries: number, maxMs: number): number {
  return Math.min(50 * 2 ** Math.min(retries, 20), maxMs);
}

/** A new, unconnected client for `options.mode`. */
export function buildClient(options: ClientOptions, url: URL): BuiltClient {
  const reconnectStrategy = (retries: number) => reconnectDelay(retries, options.reconnectMaxMs);
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
