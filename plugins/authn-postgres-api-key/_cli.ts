import { parseArgs } from "node:util";
// @ts-types="npm:@types/pg@^8"
import pg from "pg";
import { sha256Hex } from "./_keys.ts";
import { postgresUrlProblem } from "./_store.ts";
import { migrate, qualified, type TableNames } from "./_migrate.ts";

/** Where a `keys …` command reads its database URL and writes its output. */
export interface KeysCommandIo {
  url: string | undefined;
  urlVariable: string;
  stdout(line: string): void;
  stderr(line: string): void;
}

const USAGE = `Usage: authn-postgres-api-key keys <command> [options]
  migrate                          apply the shipped migrations
  create --subject S [--tenant T] [--group G]... [--model M]... [--expires-at RFC3339]
         [--metadata JSON] [--id ID] [--prefix sk-]
                                   make a key; prints it once (JSON), stores its digest
  list [--subject S] [--tenant T]  one JSON line per key (never the key)
  revoke <id>                      set revoked_at; every instance drops the key at once
Common: [--schema vulpes] [--table api_keys]. The database URL comes from $`;

const COLUMNS = "id, prefix, subject, tenant, groups, models, expires_at, revoked_at, metadata, " +
  "created_at, last_used_at";

/** Runs `keys <command>`; resolves to the exit code (0 ok, 1 failed, 2 usage). */
export async function runKeysCommand(args: string[], io: KeysCommandIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        schema: { type: "string", default: "vulpes" },
        table: { type: "string", default: "api_keys" },
        subject: { type: "string" },
        tenant: { type: "string" },
        group: { type: "string", multiple: true },
        model: { type: "string", multiple: true },
        "expires-at": { type: "string" },
        metadata: { type: "string" },
        id: { type: "string" },
        prefix: { type: "string", default: "sk-" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    io.stderr(`${error instanceof Error ? error.message : error}\n${USAGE}${io.urlVariable}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    io.stderr(USAGE + io.urlVariable);
    return values.help ? 0 : 2;
  }
  const names = { schema: values.schema, table: values.table };
  if (![names.schema, names.table].every((n) => /^[a-z_][a-z0-9_]{0,29}$/.test(n))) {
    io.stderr("Cannot run keys command: --schema and --table must be lower-case SQL identifiers");
    return 2;
  }
  if (!io.url) {
    io.stderr(`Cannot run keys command: set ${io.urlVariable} to the database URL`);
    return 2;
  }
  const unreadable = postgresUrlProblem(io.url, io.urlVariable);
  if (unreadable) {
    io.stderr(`Cannot run keys command: ${unreadable}`);
    return 2;
  }
  const client = new pg.Client({ connectionString: io.url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    switch (command) {
      case "migrate": {
        const applied = await migrate(client, names);
        io.stdout(JSON.stringify({ applied }));
        return 0;
      }
      case "create":
        return await create(client, names, values, io);
      case "list":
        return await list(client, names, values, io);
      case "revoke":
        return await revoke(client, names, rest[0], io);
      default:
        io.stderr(`Unknown keys command "${command}"\n${USAGE}${io.urlVariable}`);
        return 2;
    }
  } catch (error) {
    io.stderr(`Cannot run keys ${command}: ${error instanceof Error ? error.message : error}`);
    return 1;
  } finally {
    await client.end().catch(() => {});
  }
}

type Values = Record<string, string | string[] | boolean | undefined>;

async function create(
  client: pg.Client,
  names: TableNames,
  values: Values,
  io: KeysCommandIo,
): Promise<number> {
  const subject = values.subject as string | undefined;
  if (!subject) {
    io.stderr("Cannot create key: --subject is required");
    return 2;
  }
  const expiresAt = values["expires-at"] as string | undefined;
  if (expiresAt !== undefined && Number.isNaN(Date.parse(expiresAt))) {
    io.stderr(`Cannot create key: --expires-at "${expiresAt}" is not an RFC 3339 time`);
    return 2;
  }
  let metadata: unknown = {};
  try {
    metadata = JSON.parse((values.metadata as string | undefined) ?? "{}");
  } catch {
    metadata = null;
  }
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    io.stderr("Cannot create key: --metadata must be a JSON object");
    return 2;
  }
  const key = generateKey(values.prefix as string);
  const display = key.slice(0, (values.prefix as string).length + 8);
  const { rows } = await client.query(
    `INSERT INTO ${qualified(names)} (id, digest, prefix, subject, tenant, groups, models, ` +
      `expires_at, metadata) VALUES (COALESCE($1, gen_random_uuid()::text), decode($2, 'hex'), ` +
      `$3, $4, $5, $6, $7, $8, $9) RETURNING ${COLUMNS}`,
    [
      values.id ?? null,
      sha256Hex(key),
      display,
      subject,
      values.tenant ?? null,
      values.group ?? [],
      values.model ?? null,
      expiresAt ?? null,
      metadata,
    ],
  );
  io.stdout(JSON.stringify({ ...rows[0], key }));
  io.stderr("Store the key now: it is not shown again, only its digest is kept");
  return 0;
}

async function list(
  client: pg.Client,
  names: TableNames,
  values: Values,
  io: KeysCommandIo,
): Promise<number> {
  const { rows } = await client.query(
    `SELECT ${COLUMNS} FROM ${qualified(names)} WHERE ($1::text IS NULL OR subject = $1) ` +
      `AND ($2::text IS NULL OR tenant = $2) ORDER BY created_at, id`,
    [values.subject ?? null, values.tenant ?? null],
  );
  for (const row of rows) io.stdout(JSON.stringify(row));
  return 0;
}

async function revoke(
  client: pg.Client,
  names: TableNames,
  id: string | undefined,
  io: KeysCommandIo,
): Promise<number> {
  if (!id) {
    io.stderr("Cannot revoke key: give its id (keys revoke <id>)");
    return 2;
  }
  const { rows } = await client.query(
    `UPDATE ${qualified(names)} SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 ` +
      `RETURNING ${COLUMNS}`,
    [id],
  );
  if (rows.length === 0) {
    io.stderr(`Cannot revoke key: no key has id "${id}"`);
    return 1;
  }
  io.stdout(JSON.stringify(rows[0]));
  return 0;
}

/** `<prefix>` + 32 random bytes in base64url (43 characters). */
export function generateKey(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const base64 = btoa(String.fromCharCode(...bytes));
  return prefix + base64.replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
