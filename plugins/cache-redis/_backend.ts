/**
 * The few Redis operations cache-redis needs, over node-redis, for each mode: a standalone
 * client, a cluster (`createCluster`) or a sentinel-managed master (`createSentinel`).
 *
 * One connection per node: node-redis pipelines concurrent commands on it (it writes every
 * command queued in the same tick in one write), which suits a cache's short commands better
 * than a pool. The offline queue is off, so while a connection is down a command fails at
 * once instead of waiting for the reconnection. Every command runs under the deadline of
 * `_deadline.ts`.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createClient, createCluster, createSentinel, RESP_TYPES } from "redis";
import { withDeadline } from "./_deadline.ts";
import type { Endpoints } from "./_endpoints.ts";

/** What the cache asks of Redis. Every method may reject; none waits past its deadline. */
export interface Backend {
  /** True while commands can be sent (a connection is up and its handshake done). */
  readonly ready: boolean;
  /** Open the connections; rejects when the deployment cannot be reached (cluster, sentinel). */
  connect(): Promise<void>;
  /** The value under `key`, or null. */
  get(key: string, signal?: AbortSignal): Promise<Uint8Array | null>;
  /** Store `value` under `key` for `ttlMs` (`SET … PX`). */
  set(key: string, value: Uint8Array, ttlMs: number, signal?: AbortSignal): Promise<void>;
  /** Remove `key`; true when it existed. */
  delete(key: string, signal?: AbortSignal): Promise<boolean>;
  /** Remove every key matching the `SCAN` pattern, on every master; how many were removed. */
  deleteMatching(pattern: string, signal?: AbortSignal): Promise<number>;
  /** `PING`. */
  ping(signal?: AbortSignal): Promise<void>;
  /** Close every connection and stop reconnecting. */
  close(): Promise<void>;
}

/** Timeouts and reconnection of a backend. */
export interface BackendOptions {
  /** Time allowed to open a connection. */
  connectTimeoutMs: number;
  /** Deadline of each command. */
  commandTimeoutMs: number;
  /** Longest pause between reconnection attempts. */
  reconnectMaxDelayMs: number;
  /** A number in [0, 1), for the reconnection jitter. */
  random: () => number;
  /** Called with every connection error (node-redis emits one per failed attempt). */
  onError: (error: unknown) => void;
  /** Called when a connection is ready. */
  onReady: () => void;
}

/** Keys removed per `SCAN` page. */
export const SCAN_COUNT = 500;

const BINARY = { [RESP_TYPES.BLOB_STRING]: Buffer } as const;

/** The pause before reconnection attempt `retries` (0-based): 50 ms doubling, capped, ±10 %. */
export function reconnectDelay(retries: number, maxDelayMs: number, random: () => number): number {
  const base = Math.min(50 * 2 ** Math.min(retries, 20), maxDelayMs);
  return Math.max(1, Math.round(base * (0.9 + 0.2 * random())));
}

// node-redis's types are parameterised by modules, scripts and type mappings; the backend
// uses a handful of commands, typed here by what it relies on.
interface Commands {
  get(key: string): Promise<Uint8Array | string | null>;
  set(key: string, value: Uint8Array, options: unknown): Promise<unknown>;
  unlink(keys: string | string[]): Promise<number>;
  scan(cursor: string, options: unknown): Promise<{ cursor: string; keys: string[] }>;
  ping(): Promise<unknown>;
}

interface Client extends Commands {
  readonly isReady: boolean;
  withTypeMapping(mapping: unknown): Commands;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  connect(): Promise<unknown>;
  destroy(): void | Promise<void>;
}

/** A backend for the endpoints' mode. Nothing connects before `connect()`. */
export function createBackend(endpoints: Endpoints, options: BackendOptions): Backend {
  const tls = endpoints.tls === undefined ? {} : { tls: true as const, ...endpoints.tls };
  const socket = {
    connectTimeout: options.connectTimeoutMs,
    reconnectStrategy: (retries: number) =>
      reconnectDelay(retries, options.reconnectMaxDelayMs, options.random),
    ...tls,
  };
  const common = {
    ...endpoints.credentials,
    disableOfflineQueue: true,
    commandOptions: { timeout: options.commandTimeoutMs },
  };
  const first = endpoints.nodes[0]!;
  if (endpoints.mode === "standalone") {
    const client = createClient({
      ...common,
      database: endpoints.database,
      socket: { ...socket, host: first.host, port: first.port } as never,
    }) as unknown as Client;
    return fromClients(client, () => client.isReady, () => Promise.resolve([client]), options);
  }
  if (endpoints.mode === "cluster") {
    // Nodes found through the seed get the same socket settings and credentials.
    const cluster = createCluster({
      rootNodes: [{ socket: { ...socket, host: first.host, port: first.port } as never }],
      defaults: { ...common, socket: socket as never },
      commandOptions: { timeout: options.commandTimeoutMs },
    });
    const typed = cluster as unknown as Client & { isOpen: boolean };
    return fromClients(typed, () => typed.isOpen, async () => {
      const masters = cluster.masters;
      return await Promise.all(
        masters.map(async (master) => (await cluster.nodeClient(master)) as unknown as Client),
      );
    }, options);
  }
  const sentinel = createSentinel({
    name: endpoints.sentinel!.masterName,
    sentinelRootNodes: endpoints.nodes,
    nodeClientOptions: { ...common, database: endpoints.database, socket: socket as never },
    sentinelClientOptions: { ...endpoints.sentinel!.credentials, socket: socket as never },
    masterPoolSize: 1,
    commandOptions: { timeout: options.commandTimeoutMs },
  });
  const typed = sentinel as unknown as Client;
  return fromClients(typed, () => typed.isReady, () => Promise.resolve([typed]), options);
}

function fromClients(
  client: Client,
  ready: () => boolean,
  masters: () => Promise<Client[]>,
  options: BackendOptions,
): Backend {
  const binary = client.withTypeMapping(BINARY);
  const timeout = options.commandTimeoutMs;
  client.on("error", (error) => options.onError(error));
  client.on("ready", () => options.onReady());
  let closed = false;
  return {
    get ready() {
      return !closed && ready();
    },
    async connect() {
      await client.connect();
      options.onReady();
    },
    async get(key, signal) {
      const value = await withDeadline(binary.get(key), timeout, signal);
      return typeof value === "string" ? new TextEncoder().encode(value) : value;
    },
    async set(key, value, ttlMs, signal) {
      await withDeadline(
        binary.set(key, value, { expiration: { type: "PX", value: ttlMs } }),
        timeout,
        signal,
      );
    },
    async delete(key, signal) {
      return (await withDeadline(client.unlink(key), timeout, signal)) > 0;
    },
    async deleteMatching(pattern, signal) {
      let removed = 0;
      for (const node of await withDeadline(masters(), timeout, signal)) {
        let cursor = "0";
        do {
          const page = await withDeadline(
            node.scan(cursor, { MATCH: pattern, COUNT: SCAN_COUNT }),
            timeout,
            signal,
          );
          cursor = String(page.cursor);
          // One UNLINK per page: the keys of a namespace share a hash tag, so one slot.
          if (page.keys.length > 0) {
            removed += await withDeadline(node.unlink(page.keys), timeout, signal);
          }
        } while (cursor !== "0");
      }
      return removed;
    },
    async ping(signal) {
      await withDeadline(client.ping(), timeout, signal);
    },
    async close() {
      closed = true;
      try {
        await client.destroy();
      } catch { /* already closed */ }
    },
  };
}
