/**
 * The processes of bench/e2e.ts: the mock upstream, the dev gateway and the Portkey gateway, each
 * on a free port of 127.0.0.1, in a process group of its own that is stopped as a whole; their
 * output drained (last lines kept for error messages, warnings counted); the Node tools of
 * bench/node (installed by `npm ci` on first use) and a JSON-in, JSON-out runner for its scripts;
 * the CPU time of a process, from /proc.
 *
 * @module
 */

import { parse, stringify } from "yaml";
import { fileURLToPath } from "node:url";

/** The repository's root folder. */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
/** bench/node: the Node tools' package. */
export const NODE_DIR: string = `${ROOT}/bench/node`;
const CONFIG = `${ROOT}/bench/gateway.bench.yaml`;
const PORTKEY = "node_modules/@portkey-ai/gateway/build/start-server.js";
const TAIL_LINES = 60;

/** A process started by the benchmark. */
export interface Service {
  /** What it is, for messages. */
  name: string;
  /** Its base URL, `http://127.0.0.1:<port>`. */
  url: string;
  /** Its process id (the leader of its process group). */
  pid: number;
  /** The last lines of its stdout and stderr. */
  tail(): string[];
  /** How many warning or error lines it has written so far. */
  warnings(): number;
  /** The last warning or error line it wrote, if any. */
  lastWarning(): string | undefined;
  /** Stop it (SIGTERM to its group, SIGKILL after 15 s); safe to call twice. */
  stop(): Promise<void>;
}

interface SpawnOptions {
  args: string[];
  cwd: string;
  /** The whole environment, when given (else the benchmark's own). */
  env?: Record<string, string>;
  /** A line that says it is ready; its first group, if any, is the URL. */
  ready: RegExp;
  /** Whether a line counts as a warning. */
  isWarning: (line: string, stream: "stdout" | "stderr") => boolean;
  onStop?: () => Promise<void>;
}

async function spawn(name: string, command: string, options: SpawnOptions): Promise<Service> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(command, {
      args: options.args,
      cwd: options.cwd,
      ...(options.env ? { env: options.env, clearEnv: true } : {}),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      detached: true, // its own process group: stopped as a whole, untouched by a terminal's ^C
    }).spawn();
  } catch (error) {
    throw new Error(`Cannot start ${name} with "${command}": ${(error as Error).message}`);
  }
  const lines: string[] = [];
  let warnings = 0;
  let lastWarning: string | undefined;
  const { promise: ready, resolve, reject } = Promise.withResolvers<string>();
  function onLine(line: string, stream: "stdout" | "stderr"): void {
    lines.push(line);
    if (lines.length > TAIL_LINES) lines.shift();
    if (options.isWarning(line, stream)) {
      warnings++;
      lastWarning = line;
    }
    const match = options.ready.exec(line);
    if (match) resolve(match[1] ?? "");
  }
  const drained = Promise.all([
    drain(child.stdout, (line) => onLine(line, "stdout")),
    drain(child.stderr, (line) => onLine(line, "stderr")),
  ]);
  const exited = child.status.then((status) => {
    reject(new Error(`${name} exited with code ${status.code}:\n${lines.join("\n")}`));
    return status;
  });
  let stopping: Promise<void> | undefined;
  async function stop(): Promise<void> {
    signalGroup(child.pid, "SIGTERM");
    const timer = setTimeout(() => signalGroup(child.pid, "SIGKILL"), 15_000);
    await exited;
    clearTimeout(timer);
    signalGroup(child.pid, "SIGKILL"); // whatever is left in the group
    await drained;
    await options.onStop?.();
  }
  const service: Service = {
    name,
    url: "",
    pid: child.pid,
    tail: () => [...lines],
    warnings: () => warnings,
    lastWarning: () => lastWarning,
    stop: () => stopping ??= stop(),
  };
  const timeout = setTimeout(
    () => reject(new Error(`${name} did not start within 90 s:\n${lines.join("\n")}`)),
    90_000,
  );
  try {
    service.url = await ready;
  } catch (error) {
    await service.stop();
    throw error;
  } finally {
    clearTimeout(timeout);
  }
  return service;
}

function signalGroup(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(-pid, signal);
  } catch { /* the group is gone */ }
}

async function drain(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let rest = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + text).split("\n");
    rest = parts.pop()!;
    for (const part of parts) onLine(part);
  }
  if (rest) onLine(rest);
}

/**
 * A free TCP port of 127.0.0.1 (for a server that cannot listen on port 0 itself).
 *
 * @returns The port.
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

function denoArgs(permissions: string[], script: string, args: string[] = []): string[] {
  return ["run", "--quiet", "--no-prompt", "--config", `${ROOT}/deno.json`, ...permissions]
    .concat(script, args);
}

/**
 * Start the mock upstream (bench/_e2e_mock.ts) in a process of its own.
 *
 * @returns The service; its URL is the server's root (the API is under `/v1`).
 */
export function startMock(): Promise<Service> {
  return spawn("the mock upstream", Deno.execPath(), {
    args: denoArgs(["--allow-net"], `${ROOT}/bench/_e2e_mock.ts`),
    cwd: ROOT,
    ready: /^mock upstream listening on (\S+)/,
    isWarning: (_line, stream) => stream === "stderr",
  });
}

/**
 * Start the dev gateway with bench/gateway.bench.yaml, its upstream pointed at the mock.
 *
 * @param mockUrl The mock upstream's root URL.
 * @returns The service.
 */
export async function startGateway(mockUrl: string): Promise<Service> {
  const config = parse(await Deno.readTextFile(CONFIG));
  for (const plugin of config.plugins) {
    plugin.source.path = fileURLToPath(new URL(plugin.source.path, `file://${CONFIG}`));
    if (plugin.name === "upstream") plugin.config.base_url = `${mockUrl}/v1`;
  }
  const file = await Deno.makeTempFile({ prefix: "vulpes-bench-", suffix: ".yaml" });
  await Deno.writeTextFile(file, stringify(config));
  const permissions = ["--allow-read", "--allow-run", "--allow-net", "--allow-env"];
  const args = ["--config", file, "--listen", "127.0.0.1:0"];
  const remove = () => Deno.remove(file).catch(() => {});
  try {
    return await spawn("the dev gateway", Deno.execPath(), {
      args: denoArgs(permissions, `${ROOT}/examples/dev-gateway/main.ts`, args),
      cwd: ROOT,
      ready: /^vulpes dev gateway listening on (\S+)/,
      isWarning: (line) => /"level":"(warn|error)"/.test(line) || line.startsWith("Cannot"),
      onStop: remove,
    });
  } catch (error) {
    await remove();
    throw error;
  }
}

/**
 * Start the Portkey gateway under Node, bound to 127.0.0.1 by bench/node/loopback.mjs, headless
 * (no UI, no log stream), with `NODE_ENV=production` and nothing else of the environment but
 * PATH and HOME (so no `HTTP_PROXY` or `REDIS_CONNECTION_STRING` changes what it does). It opens
 * no connection on start. bench/node/package.json pins its `@hono/node-server` to 1.14.1: from
 * 1.14.2 on, every streamed answer through Portkey is a 500 (`TypeError: immutable`, Portkey
 * issue #1389). Requests choose the upstream with `x-portkey-provider: openai` and
 * `x-portkey-custom-host: <mock>/v1` (127.0.0.1 is among its default trusted custom hosts).
 *
 * @returns The service.
 */
export async function startPortkey(): Promise<Service> {
  const port = freePort();
  const service = await spawn("the Portkey gateway", "node", {
    args: ["--import", "./loopback.mjs", PORTKEY, `--port=${port}`, "--headless"],
    cwd: NODE_DIR,
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "",
      NODE_ENV: "production",
    },
    ready: /Ready for connections/,
    isWarning: (_line, stream) => stream === "stderr",
  });
  service.url = `http://127.0.0.1:${port}`;
  return service;
}

/**
 * Install bench/node's packages with `npm ci` when its node_modules is missing.
 *
 * @param log Where progress goes.
 * @throws {Error} When npm fails.
 */
export async function ensureNodeTools(log: (line: string) => void): Promise<void> {
  try {
    await Deno.stat(`${NODE_DIR}/node_modules`);
    return;
  } catch { /* install */ }
  log("installing bench/node (npm ci)");
  const args = ["ci", "--prefix", NODE_DIR, "--no-audit", "--no-fund", "--ignore-scripts"];
  const { code, stderr } = await new Deno.Command("npm", { args, stdout: "null", stderr: "piped" })
    .output();
  if (code !== 0) {
    throw new Error(`Cannot install bench/node with npm ci:\n${new TextDecoder().decode(stderr)}`);
  }
}

/**
 * Run a script of bench/node with one JSON argument and parse the JSON it prints.
 *
 * @param script The file name in bench/node.
 * @param args The argument.
 * @param signal Kills the script when aborted.
 * @returns The parsed output.
 * @throws {Error} When the script fails or prints no JSON.
 */
export async function runNodeJson(
  script: string,
  args: unknown,
  signal?: AbortSignal,
): Promise<unknown> {
  const child = new Deno.Command("node", {
    args: [script, JSON.stringify(args)],
    cwd: NODE_DIR,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  };
  signal?.addEventListener("abort", kill, { once: true });
  try {
    const { code, stdout, stderr } = await child.output();
    if (signal?.aborted) throw signal.reason;
    if (code !== 0) throw new Error(`${script} failed:\n${new TextDecoder().decode(stderr)}`);
    return JSON.parse(new TextDecoder().decode(stdout));
  } finally {
    signal?.removeEventListener("abort", kill);
  }
}

/**
 * CPU time a process has used so far (user + system), from /proc; 0 when unknown.
 *
 * @param pid The process.
 * @returns Milliseconds, at the kernel's 10 ms tick.
 */
export function cpuMs(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime at USER_HZ 100
  } catch {
    return 0;
  }
}
