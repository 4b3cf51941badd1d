/**
 * Throwaway Redis servers for tests: the Debian package `redis-server` run in its own temp dir,
 * on a free port of 127.0.0.1, without persistence (`--save ''`, `--appendonly no`), and a
 * Redis Sentinel (`redis-server --sentinel`) watching one of them. When `redis-server` is not on
 * PATH and the process runs as root, the package is installed with apt-get; otherwise
 * {@linkcode startRedis} and {@linkcode startSentinel} throw with the command to run.
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
  /**
   * The same as `close()`, so that `await using redis = await startRedis()` closes the server
   * when the block is left, also when it throws.
   */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@linkcode startSentinel}. */
export interface StartSentinelOptions {
  /**
   * The name the sentinel knows the master by (`sentinel monitor <name> …`), which clients ask
   * it for: letters, digits, `.`, `_` and `-`.
   *
   * @default {"vulpes"}
   */
  name?: string;
}

/** A running throwaway Redis Sentinel, as returned by {@linkcode startSentinel}. */
export interface TestSentinel {
  /** `redis://127.0.0.1:port`: the sentinel, not the master. */
  url: string;
  /** The sentinel's TCP port on 127.0.0.1. */
  port: number;
  /** The name the sentinel knows the master by. */
  masterName: string;
  /** Kills the sentinel and removes its temp dir; the master keeps running. Safe to call twice. */
  close(): Promise<void>;
  /**
   * The same as `close()`, so that `await using sentinel = await startSentinel(master)` closes
   * the sentinel when the block is left, also when it throws. Declared after the master's
   * `await using`, it is closed before the master.
   */
  [Symbol.asyncDispose](): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;
const ANSWER_TIMEOUT_MS = 1_000;
const DEFAULT_MASTER_NAME = "vulpes";
const MASTER_NAME = /^[A-Za-z0-9._-]+$/;

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
 * @returns The running server; call `close()` when done, or hold it with `await using`.
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
  const program = await locateRedisServer();
  const root = await Deno.makeTempDir({ prefix: "vulpes-redis-" });
  try {
    return await setUpRedis(program, root, options);
  } catch (error) {
    await Deno.remove(root, { recursive: true }).catch(() => {});
    throw error;
  }
}

/**
 * Starts a throwaway Redis Sentinel that watches `master`, in a new temp dir on a free port of
 * 127.0.0.1.
 *
 * The sentinel is `redis-server <temp dir>/sentinel.conf --sentinel`, a child of the test
 * process, with `sentinel monitor <name> 127.0.0.1 <master port> 1` (quorum 1), the master's
 * password as `sentinel auth-pass` when it has one, and its log in the temp dir.
 * `startSentinel()` returns once the sentinel answers `SENTINEL GET-MASTER-ADDR-BY-NAME` with
 * the master's address. The master is not touched: close the sentinel before the master. Needs
 * `--allow-all` in practice, as {@linkcode startRedis}.
 *
 * @param master The server to watch, from {@linkcode startRedis}; it must be running.
 * @param options The name the sentinel knows the master by.
 * @returns The running sentinel; call `close()` when done, or hold it with `await using`.
 * @throws {Error} When the name has other characters than letters, digits, `.`, `_` and `-`,
 * when `redis-server` is missing and cannot be installed (the message says which command to
 * run), or when the sentinel does not name the master within 15 s (the message carries its
 * log).
 *
 * @example Ask a sentinel for its master
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { startRedis, startSentinel } from "@vulpes/contract/testing";
 *
 * const master = await startRedis({ password: "s3cret" });
 * const sentinel = await startSentinel(master, { name: "cache" });
 * try {
 *   assert.equal(sentinel.url, `redis://127.0.0.1:${sentinel.port}`);
 *   assert.equal(sentinel.masterName, "cache");
 * } finally {
 *   await sentinel.close();
 *   await master.close();
 * }
 * ```
 */
export async function startSentinel(
  master: TestRedis,
  options: StartSentinelOptions = {},
): Promise<TestSentinel> {
  const name = options.name ?? DEFAULT_MASTER_NAME;
  if (!MASTER_NAME.test(name)) {
    throw new Error(
      `Invalid sentinel master name ${JSON.stringify(name)}: use only letters, digits, ".", ` +
        `"_" and "-"`,
    );
  }
  const program = await locateRedisServer();
  const root = await Deno.makeTempDir({ prefix: "vulpes-sentinel-" });
  try {
    return await setUpSentinel(program, root, master, name);
  } catch (error) {
    await Deno.remove(root, { recursive: true }).catch(() => {});
    throw error;
  }
}

async function setUpRedis(
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
    const server = spawnServer(program, args, root);
    child = server.process;
    try {
      await whenReady(server, {
        failure: `Cannot start redis-server on 127.0.0.1:${port}`,
        condition: "answer PING",
        // A NOAUTH error also means the server is up.
        check: async () => /^(\+PONG|-NOAUTH)/.test(await answer(port, "PING")),
      });
    } catch (error) {
      child = null;
      throw error;
    }
  }

  async function stop(): Promise<void> {
    const running = child;
    if (running === null) return;
    child = null;
    await kill(running);
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    try {
      await stop();
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  }

  await start();
  const auth = password === undefined ? "" : `:${encodeURIComponent(password)}@`;
  return {
    url: `redis://${auth}127.0.0.1:${port}`,
    port,
    ...(password === undefined ? {} : { password }),
    start,
    stop,
    close,
    [Symbol.asyncDispose]: close,
  };
}

async function setUpSentinel(
  program: string,
  root: string,
  master: TestRedis,
  name: string,
): Promise<TestSentinel> {
  const port = freePort();
  // The sentinel rewrites its config file, so it lives in the temp dir.
  const config = `${root}/sentinel.conf`;
  await Deno.writeTextFile(
    config,
    [
      `port ${port}`,
      "bind 127.0.0.1",
      `dir ${configString(root)}`,
      `logfile ${configString(`${root}/redis.log`)}`,
      `sentinel monitor ${name} 127.0.0.1 ${master.port} 1`,
      ...(master.password === undefined
        ? []
        : [`sentinel auth-pass ${name} ${configString(master.password)}`]),
      "",
    ].join("\n"),
  );
  const server = spawnServer(program, [config, "--sentinel"], root);
  const masterPort = `\r\n${master.port}\r\n`;
  await whenReady(server, {
    failure: `Cannot start a Redis Sentinel on 127.0.0.1:${port} for the master ${name} at ` +
      `127.0.0.1:${master.port} (is that server running?)`,
    condition: `name the master ${name}`,
    check: async () =>
      (await answer(port, `SENTINEL GET-MASTER-ADDR-BY-NAME ${name}`)).includes(masterPort),
  });
  let closed = false;
  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    try {
      await kill(server.process);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    masterName: name,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A spawned `redis-server`, its temp dir (which holds `redis.log`) and its stderr. */
interface SpawnedServer {
  process: Deno.ChildProcess;
  root: string;
  stderr: Promise<string>;
}

function spawnServer(program: string, args: string[], root: string): SpawnedServer {
  const process = new Deno.Command(program, {
    args,
    cwd: root,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  return { process, root, stderr: new Response(process.stderr).text().catch(() => "") };
}

/** How to tell that a spawned server is ready, and what to say when it is not. */
interface Readiness {
  /** The start of the error message, e.g. "Cannot start redis-server on 127.0.0.1:6379". */
  failure: string;
  /** What the server has not done when it times out, e.g. "answer PING". */
  condition: string;
  /** Whether the server is ready; a rejection counts as not yet. */
  check: () => Promise<boolean>;
}

/**
 * Polls `readiness.check` until it holds. When the server exits or times out first, kills it
 * and throws with its stderr and the end of its log (`redis.log` in its temp dir).
 */
async function whenReady(server: SpawnedServer, readiness: Readiness): Promise<void> {
  let exited: Deno.CommandStatus | null = null;
  server.process.status.then((status) => exited = status);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let problem = `did not ${readiness.condition} within ${READY_TIMEOUT_MS} ms`;
  while (Date.now() < deadline) {
    if (exited !== null) {
      problem = `it exited with code ${(exited as Deno.CommandStatus).code}`;
      break;
    }
    if (await readiness.check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await kill(server.process);
  const log = await Deno.readTextFile(`${server.root}/redis.log`).catch(() => "");
  throw new Error(
    `${readiness.failure}: ${problem}\n${(await server.stderr).trim()}\n${log.slice(-3000)}`,
  );
}

async function kill(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGKILL");
  } catch { /* already gone */ }
  await child.status;
}

/**
 * Sends one inline command (words separated by spaces) to 127.0.0.1:`port` and returns the
 * first chunk of the reply as text: enough for the short replies polled here. When nothing
 * comes within a second, the connection is closed and the reply is empty or the call rejects.
 */
async function answer(port: number, command: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => closeQuietly(conn), ANSWER_TIMEOUT_MS);
  try {
    await conn.write(new TextEncoder().encode(`${command}\r\n`));
    const buffer = new Uint8Array(512);
    const read = await conn.read(buffer);
    return new TextDecoder().decode(buffer.subarray(0, read ?? 0));
  } finally {
    clearTimeout(timer);
    closeQuietly(conn);
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* closed */ }
}

/**
 * `value` as a double-quoted string of a Redis config file: `"` and `\` escaped with a
 * backslash, bytes outside printable ASCII as `\xHH`.
 */
function configString(value: string): string {
  let quoted = "";
  for (const byte of new TextEncoder().encode(value)) {
    const char = String.fromCharCode(byte);
    if (char === '"' || char === "\\") quoted += `\\${char}`;
    else if (byte >= 0x20 && byte < 0x7f) quoted += char;
    else quoted += `\\x${byte.toString(16).padStart(2, "0")}`;
  }
  return `"${quoted}"`;
}

function locateRedisServer(): Promise<string> {
  located ??= debianPrograms("redis-server", ["redis-server"]).then((found) =>
    found["redis-server"]!
  );
  return located;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}
