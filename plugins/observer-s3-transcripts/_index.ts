/**
 * The PostgreSQL index: versioned migrations applied under an advisory lock, and batched,
 * idempotent inserts of index rows.
 *
 * @module
 */

import pg from "pg";
import { parse } from "pg-connection-string";
import { PluginError } from "@vulpes/contract/plugin";
import type { IndexRow } from "./_transcript.ts";

/** A migration: applied once, in version order, recorded in `vulpes_transcripts_migrations`. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The schema, as migrations. Never edit a shipped one: add the next version. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "create vulpes_transcripts",
    sql: `
CREATE TABLE vulpes_transcripts (
  request_id        text PRIMARY KEY,
  tenant            text,
  subject           text,
  model             text,
  upstream          text,
  upstream_model    text,
  outcome           text NOT NULL CHECK (outcome IN ('completed', 'failed')),
  status            integer,
  started_at        timestamptz NOT NULL,
  finished_at       timestamptz NOT NULL,
  latency_ms        double precision,
  ttft_ms           double precision,
  prompt_tokens     integer,
  completion_tokens integer,
  total_tokens      integer,
  payload_captured  boolean NOT NULL,
  bucket            text NOT NULL,
  object_key        text NOT NULL,
  object_size       integer NOT NULL,
  indexed_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX vulpes_transcripts_tenant_started ON vulpes_transcripts (tenant, started_at);
CREATE INDEX vulpes_transcripts_subject_started ON vulpes_transcripts (subject, started_at);
CREATE INDEX vulpes_transcripts_started ON vulpes_transcripts (started_at);
`,
  },
];

/** Key of the advisory lock migrations run under (any 64-bit number, fixed for this plugin). */
export const MIGRATION_LOCK = 7_312_845_090_117;

/** Columns of an index row, in INSERT order. */
export const COLUMNS: readonly (keyof IndexRow)[] = [
  "request_id",
  "tenant",
  "subject",
  "model",
  "upstream",
  "upstream_model",
  "outcome",
  "status",
  "started_at",
  "finished_at",
  "latency_ms",
  "ttft_ms",
  "prompt_tokens",
  "completion_tokens",
  "total_tokens",
  "payload_captured",
  "bucket",
  "object_key",
  "object_size",
];

/** Something that runs queries: a pool or a client. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

/**
 * Apply the migrations not yet applied, in one transaction under a transaction-level advisory
 * lock, so gateways starting together apply each migration exactly once.
 *
 * @returns The versions applied now.
 */
export async function migrate(pool: pg.Pool, migrations = MIGRATIONS): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS vulpes_transcripts_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set(
      (await client.query("SELECT version FROM vulpes_transcripts_migrations")).rows.map((
        r: { version: unknown },
      ) => Number(r.version)),
    );
    const applied: number[] = [];
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      await client.query(migration.sql);
      await client.query(
        "INSERT INTO vulpes_transcripts_migrations (version, name) VALUES ($1, $2)",
        [migration.version, migration.name],
      );
      applied.push(migration.version);
    }
    await client.query("COMMIT");
    return applied;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/** Insert rows in one statement; a row whose request id is already indexed is left as it is. */
export async function insertRows(db: Queryable, rows: readonly IndexRow[]): Promise<void> {
  if (rows.length === 0) return;
  const values: unknown[] = [];
  const tuples = rows.map((row) => {
    const start = values.length;
    for (const column of COLUMNS) values.push(row[column]);
    return `(${COLUMNS.map((_, i) => `$${start + i + 1}`).join(", ")})`;
  });
  await db.query(
    `INSERT INTO vulpes_transcripts (${COLUMNS.join(", ")}) VALUES ${tuples.join(", ")}
     ON CONFLICT (request_id) DO NOTHING`,
    values,
  );
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

/** A pool for the index. */
export function indexPool(url: string, size: number): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: size,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
  });
  // An idle connection cut by the server must not crash the process; the next query retries.
  pool.on("error", () => {});
  return pool;
}
