/**
 * A throwaway Redis server for tests: the Debian package `redis-server` run in its own temp dir,
 * on a free port of 127.0.0.1, without persistence (`--save ''`, `--appendonly no`). When
 * `redis-server` is not on PATH and the process runs as root, the package is installed with
 * apt-get; otherwise {@linkcode startRedis} throws with the command to run.
 *
 * @module
 */

import { debianPrograms } from "./_debian.ts";

/** Options of {@linkcode startRedis}. */
export interface StartRedisOptions {
  /**
   * A password the server requires (`requirepass`); it is also put in `url`.
   *
   * @default {undefined}
   */
  password?: string;
  /**
   * More `redis-server` arguments, appended after the helper's own, e.g.
   * `["--cluster-enabled", "yes"]`.
   *
   * @default {[]}
   */
  args?: string[];
}

/** A running (or stopped) throwaway Redis server, as returned by {@linkcode startRedis}. */
export interface TestRedis {
  /** `redis://127.0.0.1:port`, or `redis://:password@127.0.0.1:port` with a password. */
  url: string;
  /** The TCP port on 127.0.0.1; the same after `stop()` and `start()`. */
  port: number;
  /** The password the server requires, when one was given. */
  password?: string;
  /**
   * Kills the server (SIGKILL, open connections are cut) and keeps the port for `start()`.
   * Redis keeps no data here, so the keys are gone after a restart.
   */
  stop(): Promise<void>;
  /** Starts a stopped server again on the same port, with no keys. */
  start(): Promise<void>;
  /** Stops the server and removes its temp dir. Safe to call twice. */
  close(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;

let located: Promise<string> | undefined;

/**
 * Starts a throwaway Redis server in a new temp dir on a free port of 127.0.0.1.
 *
 * The server runs in the foreground as a child of the test process, with `--bind 127.0.0.1`,
 * `--save ''`, `--appendonly no` and its log in the temp dir; `startRedis()` returns once it
 * answers `PING`. Needs `--allow-all` in practice (run, read, write, net, env; root to install
 * the package).
 *
 * @param options A password to require, and extra server arguments.
 * @returns The running server; call `close()` when done.
 * @throws {Error} When `redis-server` is missing and cannot be installed (the message says
 * which command to run), or when the server does not answer within 15 s (the message carries
 * its log).
 *
 * @example Start a server, stop it and start it again
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { startRedis } from "@vulpes/contract/testing";
 *
 * const redis = await startRedis({ password: "s3cret" });
 * try {
 *   assert.match(redis.url, /^redis:\/\/:s3cret@127\.0\.0\.1:\d+$/);
 *   await redis.stop();
 *   await redis.start();
 * } finally {
 *   await redis.close();
 * }
 * ```
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<TestRedis> {
  located ??= locateRedisServer();
  const program = await located;
  const root = await Deno.makeTempDir({ prefix: "vulpes-redis-" });
  try {
    return await setUp(program, root, options);
  } catch (error) {
    await Deno.remove(root, { recursive: true }).catch(() => {});
    throw error;
  }
}

async function setUp(
  program: string,
  root: string,
  options: StartRedisOptions,
): Promise<TestRedis> {
  const port = freePort();
  const password = options.password;
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    root,
    "--save",
    "",
    "--appendonly",
    "no",
    "--daemonize",
    "no",
    "--logfile",
    `${root}/redis.log`,
    ...(password === undefined ? [] : ["--requirepass", password]),
    ...(options.args ?? []),
  ];
  let child: Deno.ChildProcess | null = null;
  let closed = false;

  async function start(): Promise<void> {
    if (closed) throw new Error(`Cannot start Redis on port ${port}: it was closed`);
    if (child !== null) return;
    const spawned = new Deno.Command(program, {
      args,
      cwd: root,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    child = spawned;
    const stderr = new Response(spawned.stderr).text().catch(() => "");
    try {
      await waitReady(port, spawned.status);
    } catch (error) {
      await kill(spawned);
      child = null;
      const log = await Deno.readTextFile(`${root}/redis.log`).catch(() => "");
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(
        `Cannot start redis-server on 127.0.0.1:${port}: ${message}\n` +
          `${(await stderr).trim()}\n${log.slice(-3000)}`,
      );
    }
  }

  async function stop(): Promise<void> {
    const running = child;
    if (running === null) return;
    child = null;
    await kill(running);
  }

  await start();
  const auth = password === undefined ? "" : `:${encodeURIComponent(password)}@`;
  return {
    url: `redis://${auth}127.0.0.1:${port}`,
    port,
    ...(password === undefined ? {} : { password }),
    start,
    stop,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await stop();
      } finally {
        await Deno.remove(root, { recursive: true });
      }
    },
  };
}

async function kill(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGKILL");
  } catch { /* already gone */ }
  await child.status;
}

/** Polls with a raw `PING` until the server answers (a `NOAUTH` error also means it is up). */
async function waitReady(port: number, exited: Promise<Deno.CommandStatus>): Promise<void> {
  let gone: Deno.CommandStatus | null = null;
  exited.then((status) => gone = status);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (gone !== null) {
      throw new Error(`redis-server exited with code ${(gone as Deno.CommandStatus).code}`);
    }
    if (await answersPing(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`redis-server did not answer PING within ${READY_TIMEOUT_MS} ms`);
}

async function answersPing(port: number): Promise<boolean> {
  let conn: Deno.TcpConn | null = null;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode("PING\r\n"));
    const buffer = new Uint8Array(64);
    const read = await conn.read(buffer);
    const reply = new TextDecoder().decode(buffer.subarray(0, read ?? 0));
    return reply.startsWith("+PONG") || reply.startsWith("-NOAUTH");
  } catch {
    return false;
  } finally {
    try {
      conn?.close();
    } catch { /* closed */ }
  }
}

async function locateRedisServer(): Promise<string> {
  return (await debianPrograms("redis-server", ["redis-server"]))["redis-server"]!;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}
