/**
 * Runs the dev gateway as a process for end-to-end tests: writes a gateway.yaml into a temp
 * folder, starts `main.ts` on a free port, collects stdout and stderr, stops it with SIGTERM.
 *
 * @module
 */

import { stringify } from "yaml";

/** The repository root. */
export const ROOT: string = new URL("../../..", import.meta.url).pathname.replace(/\/$/, "");

const MAIN = `${ROOT}/examples/dev-gateway/main.ts`;

/** A gateway process. */
export interface GatewayProcess {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** The process id. */
  pid: number;
  /** stdout so far. */
  stdout(): string;
  /** stderr so far. */
  stderr(): string;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<Deno.CommandStatus>;
}

/** Path of bin/<plugin>, or an error telling to build. */
export function bin(name: string): string {
  const path = `${ROOT}/bin/${name}`;
  try {
    Deno.statSync(path);
  } catch {
    throw new Error(`${path} is missing: run "make build" first`);
  }
  return path;
}

/**
 * Write an executable launcher for the fixture plugin (testdata/fixture_plugin.ts) into a
 * folder.
 *
 * @param dir The folder.
 * @returns Its path.
 */
export function fixtureLauncher(dir: string): string {
  return launcher(dir, "fixture-plugin", "fixture_plugin.ts");
}

/**
 * Write an executable launcher for the fault fixture (testdata/faulty_plugin.ts) into a folder.
 *
 * @param dir The folder.
 * @returns Its path.
 */
export function faultyLauncher(dir: string): string {
  return launcher(dir, "faulty-plugin", "faulty_plugin.ts");
}

/**
 * The gateway.yaml entry of the upstream instance `mock`: bin/upstream-openai in front of a
 * fake OpenAI server.
 *
 * @param url The fake server's URL (without `/v1`).
 * @param extra More fields of the entry, e.g. `timeout_ms`.
 * @returns The entry.
 */
export function mockUpstream(
  url: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name: "mock",
    source: { type: "filesystem", path: bin("upstream-openai") },
    capabilities: ["upstream_provider"],
    ...extra,
    config: { base_url: `${url}/v1` },
  };
}

/**
 * A gateway.yaml plugin entry for the fault fixture as a rate limiter: it stalls on the model
 * `stall-<name>` and logs each settle.
 *
 * @param path The fixture's launcher ({@linkcode faultyLauncher}).
 * @param name The instance name (also its config `name`).
 * @param failMode What the gateway does when it fails.
 * @param timeoutMs Its `timeout_ms`.
 * @returns The entry.
 */
export function faultyLimiter(
  path: string,
  name: string,
  failMode: "open" | "closed",
  timeoutMs: number,
): Record<string, unknown> {
  return {
    name,
    source: { type: "filesystem", path },
    capabilities: ["rate_limiter"],
    fail_mode: failMode,
    timeout_ms: timeoutMs,
    config: { name },
  };
}

function launcher(dir: string, name: string, file: string): string {
  const path = `${dir}/${name}`;
  const entry = `${ROOT}/examples/dev-gateway/testdata/${file}`;
  Deno.writeTextFileSync(
    path,
    `#!/bin/sh\nexec '${Deno.execPath()}' run --quiet --no-prompt --config '${ROOT}/deno.json' '${entry}' "$@"\n`,
  );
  Deno.chmodSync(path, 0o755);
  return path;
}

function spawn(file: string, env: Record<string, string>) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      "--config",
      `${ROOT}/deno.json`,
      MAIN,
      "--config",
      file,
      "--listen",
      "127.0.0.1:0",
    ],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let err = "";
  const reading = Promise.all([
    child.stdout.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({ write: (text) => void (out += text) }),
    ),
    child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({ write: (text) => void (err += text) }),
    ),
  ]);
  return { child, reading, out: () => out, err: () => err };
}

/** A temp folder that `await using` removes, with all it holds, when the block is left. */
export interface TempDir {
  /** The folder's path. */
  path: string;
  /** Remove the folder and all it holds. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Make a temp folder for `await using`.
 *
 * @returns The folder.
 */
export async function tempDir(): Promise<TempDir> {
  const path = await Deno.makeTempDir();
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/**
 * Write a gateway.yaml (an object, or YAML text) into a temp folder.
 *
 * @param dir The folder.
 * @param config The config.
 * @returns The file's path.
 */
export function writeConfig(dir: string, config: unknown): string {
  const file = `${dir}/gateway.yaml`;
  Deno.writeTextFileSync(file, typeof config === "string" ? config : stringify(config));
  return file;
}

/**
 * Start the gateway and wait until it listens.
 *
 * @param file Its gateway.yaml.
 * @param env Extra environment variables.
 * @returns The process.
 */
export async function startGatewayProcess(
  file: string,
  env: Record<string, string> = {},
): Promise<GatewayProcess> {
  const run = spawn(file, env);
  const deadline = Date.now() + 60_000;
  let exited = false;
  run.child.status.then(() => (exited = true));
  while (!/listening on (\S+)/.test(run.out())) {
    if (exited || Date.now() > deadline) {
      if (!exited) run.child.kill("SIGKILL");
      await run.child.status;
      await run.reading;
      throw new Error(`The gateway did not start:\n${run.err()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const url = /listening on (\S+)/.exec(run.out())![1]!;
  return {
    url,
    pid: run.child.pid,
    stdout: run.out,
    stderr: run.err,
    async stop() {
      try {
        run.child.kill("SIGTERM");
      } catch { /* gone */ }
      const status = await run.child.status;
      await run.reading;
      return status;
    },
  };
}

/**
 * Run the gateway with a config that it must refuse.
 *
 * @param file Its gateway.yaml.
 * @param env Extra environment variables.
 * @returns The exit code and stderr.
 */
export async function runRefused(
  file: string,
  env: Record<string, string> = {},
): Promise<{ code: number; stderr: string; stdout: string }> {
  const run = spawn(file, env);
  const timer = setTimeout(() => run.child.kill("SIGKILL"), 60_000);
  const status = await run.child.status;
  clearTimeout(timer);
  await run.reading;
  return { code: status.code, stderr: run.err(), stdout: run.out() };
}

/**
 * Observer events the fixture observer logged to the gateway's stderr.
 *
 * @param stderr The gateway's stderr.
 * @returns The events.
 */
export function observedEvents(stderr: string): Record<string, unknown>[] {
  return stderr.split("\n").flatMap((line) => {
    if (!line.includes('"observed"')) return [];
    try {
      return [JSON.parse(line).event];
    } catch {
      return [];
    }
  });
}

/**
 * Wait until a condition holds.
 *
 * @param what What is awaited, for the error.
 * @param test The condition.
 * @param timeoutMs How long.
 */
export async function waitFor(
  what: string,
  test: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
