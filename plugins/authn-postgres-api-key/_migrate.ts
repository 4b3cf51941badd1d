import m001 from "./migrations/001_create_keys.sql" with { type: "text" };
import m002 from "./migrations/002_subject_index.sql" with { type: "text" };

/** The shipped migrations, in order. Their SQL names the tables through placeholders. */
export const MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  { version: 1, name: "001_create_keys", sql: m001 },
  { version: 2, name: "002_subject_index", sql: m002 },
];

/** Where the keys live. Both names are validated identifiers (see config.ts). */
export interface TableNames {
  schema: string;
  table: string;
}

/** Anything that runs a query: a pg `Client` or a `PoolClient`. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

/** `"schema"."table"`. */
export function qualified(names: TableNames, suffix = ""): string {
  return `"${names.schema}"."${names.table}${suffix}"`;
}

/** The NOTIFY channel of a keys table. */
export function channelOf(names: TableNames): string {
  return `${names.schema}.${names.table}`;
}

/** A migration's SQL with the configured names in place. */
export function renderMigration(sql: string, names: TableNames): string {
  return sql.replaceAll("{{schema}}", `"${names.schema}"`)
    .replace(/\{\{table\}\}(\w*)/g, (_, suffix) => `"${names.table}${suffix}"`)
    .replaceAll("{{channel}}", channelOf(names));
}

/**
 * Applies the migrations not applied yet, in one transaction under an advisory lock, so that
 * instances starting together apply each migration once. Returns the versions applied now.
 */
export async function migrate(client: Queryable, names: TableNames): Promise<number[]> {
  const applied: number[] = [];
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [
      `vulpes-migrate:${channelOf(names)}`,
    ]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${names.schema}"`);
    const ledger = qualified(names, "_migrations");
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${ledger} (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query(`SELECT version FROM ${ledger}`);
    const done = new Set(rows.map((row) => Number(row.version)));
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      await client.query(renderMigration(migration.sql, names));
      await client.query(`INSERT INTO ${ledger} (version, name) VALUES ($1, $2)`, [
        migration.version,
        migration.name,
      ]);
      applied.push(migration.version);
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
  return applied;
}
