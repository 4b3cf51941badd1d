// @ts-types="npm:@types/pg@^8"
import pg from "pg";
import { parse } from "pg-connection-string";
import { type Logger, PluginError } from "@vulpes/contract/plugin";
import type { KeyRow } from "./_keys.ts";
import { channelOf, qualified, type TableNames } from "./_migrate.ts";

/** Connection settings shared by the pool and the listener. */
export interface ConnectionOptions {
  url: string;
  poolSize: number;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
}

/**
 * Why pg cannot read a PostgreSQL URL, or undefined when it can. pg would throw at the first
 * connection with the URL (password included, re-encoded) in its message; this never quotes it.
 *
 * @param url The URL (a secret).
 * @param name What the URL is called, e.g. its config field.
 * @returns The problem, or undefined.
 */
export function postgresUrlProblem(url: string, name: string): string | undefined {
  try {
    if (/^postgres(ql)?:\/\//i.test(url)) {
      parse(url);
      return undefined;
    }
  } catch { /* unreadable */ }
  return `${name} is not a PostgreSQL URL pg can read: expected ` +
    "postgres://user:password@host:port/database, with reserved characters of the user and " +
    "password percent-encoded (/ as %2F, # as %23, % as %25, @ as %40)";
}

/**
 * Refuse a PostgreSQL URL that pg cannot read, before anything connects.
 *
 * @param url The URL (a secret: never quoted).
 * @param where The plugin, instance and config field, for the message.
 * @throws {PluginError} `invalid_config` naming the field.
 */
export function assertPostgresUrl(
  url: string,
  where: { plugin: string; instance: string; path: string },
): void {
  const message = postgresUrlProblem(url, where.path);
  if (message === undefined) return;
  throw new PluginError(
    "invalid_config",
    `Invalid config for plugin "${where.plugin}" (instance "${where.instance}"): ${message}`,
    { errors: [{ path: where.path, message }] },
  );
}

/** A pool whose idle-connection errors (database restarts) are logged, not fatal. */
export function createPool(options: ConnectionOptions, logger: Logger): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    connectionTimeoutMillis: options.connectTimeoutMs,
    statement_timeout: options.statementTimeoutMs,
    query_timeout: options.statementTimeoutMs + 500,
    idleTimeoutMillis: 30_000,
    application_name: "vulpes-authn-postgres-api-key",
  });
  pool.on("error", function onPoolError(error) {
    logger.warn("database connection lost", { error: error.message });
  });
  return pool;
}

/** Looks a hex digest up with one prepared statement. */
export function createLookup(
  pool: pg.Pool,
  names: TableNames,
): (digest: string) => Promise<KeyRow | null> {
  const text = `SELECT id, prefix, subject, tenant, groups, models, expires_at, revoked_at, ` +
    `metadata FROM ${qualified(names)} WHERE digest = decode($1, 'hex')`;
  const name = `vulpes_lookup_${names.schema}_${names.table}`;
  return async function lookup(digest) {
    const result = await pool.query<KeyRow>({ name, text, values: [digest] });
    return result.rows[0] ?? null;
  };
}

/** Batches `last_used_at` writes: `markUsed` only touches memory; `flush` writes them. */
export interface UsageRecorder {
  markUsed(id: string, at: number): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Writes pending uses every `intervalMs`; a failed write keeps them for the next round. */
export function createUsageRecorder(
  pool: pg.Pool,
  names: TableNames,
  intervalMs: number,
  logger: Logger,
): UsageRecorder {
  const MAX_PENDING = 100_000;
  let pending = new Map<string, number>();
  const text = `UPDATE ${qualified(names)} AS t SET last_used_at = v.at ` +
    `FROM unnest($1::text[], $2::timestamptz[]) AS v(id, at) ` +
    `WHERE t.id = v.id AND (t.last_used_at IS NULL OR t.last_used_at < v.at)`;
  let closing = false;
  async function flush(): Promise<void> {
    if (pending.size === 0) return;
    const batch = pending;
    pending = new Map();
    try {
      await pool.query(text, [[...batch.keys()], [...batch.values()].map((t) => new Date(t))]);
    } catch (error) {
      for (const [id, at] of batch) {
        if (pending.size < MAX_PENDING) pending.set(id, Math.max(at, pending.get(id) ?? 0));
      }
      if (closing) {
        logger.warn("Cannot write last_used_at at shutdown; these keys keep their older value", {
          keys: pending.size,
          error: messageOf(error),
        });
      } else {
        logger.warn("Cannot write last_used_at; will retry", { error: messageOf(error) });
      }
    }
  }
  const timer = setInterval(() => void flush(), intervalMs);
  return {
    markUsed(id, at) {
      if (pending.size < MAX_PENDING || pending.has(id)) pending.set(id, at);
    },
    flush,
    async close() {
      clearInterval(timer);
      closing = true;
      await flush();
    },
  };
}

/** A LISTEN connection that reconnects with backoff. */
export interface Listener {
  readonly listening: boolean;
  close(): Promise<void>;
}

/** Listens for the digests the trigger announces; `onConnected` runs after every (re)connect. */
export function startListener(
  options: ConnectionOptions & {
    names: TableNames;
    onNotify(digest: string): void;
    onConnected(): void;
    logger: Logger;
  },
): Listener {
  let client: pg.Client | null = null;
  let listening = false;
  let closed = false;
  let failures = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  function retry(): void {
    listening = false;
    client = null;
    if (closed || timer !== undefined) return;
    const delay = Math.min(5_000, 100 * 2 ** Math.min(failures++, 6));
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, delay);
  }

  async function connect(): Promise<void> {
    const next = new pg.Client({
      connectionString: options.url,
      connectionTimeoutMillis: options.connectTimeoutMs,
      keepAlive: true,
    });
    next.on("error", function onListenerError(error) {
      if (listening) options.logger.warn("LISTEN connection lost", { error: error.message });
    });
    next.on("end", () => {
      if (client === next) retry();
    });
    next.on("notification", (message) => {
      if (message.payload) options.onNotify(message.payload);
    });
    try {
      client = next;
      await next.connect();
      await next.query(`LISTEN "${channelOf(options.names)}"`);
      if (closed) return void next.end().catch(() => {});
      listening = true;
      if (failures > 0) options.logger.info("LISTEN connection restored");
      failures = 0;
      options.onConnected();
    } catch (error) {
      if (failures === 0) options.logger.warn("Cannot LISTEN", { error: messageOf(error) });
      if (client === next) {
        client = null;
        await next.end().catch(() => {});
        retry();
      }
    }
  }

  void connect();
  return {
    get listening() {
      return listening;
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      const current = client;
      client = null;
      listening = false;
      await current?.end().catch(() => {});
    },
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
