/**
 * The stdio hop: round trips between a host ({@linkcode PluginProcess}, the typed router
 * client) and a plugin process over its pipes. Sequential calls give the latency of one hop
 * (p50/p99 in µs); pipelined calls (a fixed number in flight) give calls per second. Small
 * messages are `router.route` calls; large ones are 100 KB `upstream.chat` requests echoed back.
 *
 * Run: `deno run -A bench/stdio_hop.ts`; writes bench/results/stdio_hop.json and prints a table.
 *
 * @module
 */
// deno-lint-ignore-file no-console

import {
  createChunkRouter,
  PluginProcess,
  routerClient,
  upstreamProviderClient,
} from "@vulpes/contract/host";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { markdownTable } from "./_markdown.ts";
import { percentile, type Summary } from "./_stats.ts";

const FIXTURE = fileURLToPath(new URL("./_hop_plugin.ts", import.meta.url));
const ECHO = fileURLToPath(new URL("./_echo_child.ts", import.meta.url));
const DENO = Deno.execPath();

/** One measured case of the hop. */
export interface HopResult {
  /** What was measured. */
  name: string;
  /** Sequential latency, when measured. */
  latency?: Summary;
  /** Pipelined calls per second, when measured. */
  callsPerSecond?: number;
  /** Calls in flight when pipelined. */
  inFlight?: number;
  /** CPU time (user + system) per pipelined call in µs: the host's and the plugin's. */
  cpuMicros?: { host: number; plugin: number };
}

/** User + system CPU time of a process so far, in µs (from /proc; clock ticks of 10 ms). */
function cpuMicros(pid: number | "self"): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/**
 * A launcher for a script, as bin/ plugins are started: a shell script that execs `deno run`
 * (so the pid is the script's runtime).
 */
async function writeLauncher(dir: string, name: string, script: string): Promise<string> {
  const launcher = `${dir}/${name}`;
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  await Deno.writeTextFile(
    launcher,
    `#!/bin/sh\nexec ${quote(DENO)} run --no-prompt --quiet ${quote(script)} "$@"\n`,
    { mode: 0o755 },
  );
  return launcher;
}

async function startFixture(dir: string): Promise<PluginProcess> {
  return await PluginProcess.start({
    command: await writeLauncher(dir, "hop-plugin", FIXTURE),
    instance: "hop",
    capabilities: ["router", "upstream_provider"],
    config: {},
    onLog: () => {},
    restart: false,
  });
}

/**
 * Round trips one after the other; with `pauseMs`, each after a pause, so both processes have
 * gone idle as a plugin has between the calls of one gateway request.
 */
async function sequential(
  call: () => Promise<unknown>,
  calls: number,
  pauseMs = 0,
): Promise<Summary> {
  for (let i = 0; i < Math.min(2_000, calls); i++) await call(); // warm-up
  const micros = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    const start = performance.now();
    await call();
    micros[i] = (performance.now() - start) * 1000;
  }
  return percentile(micros);
}

async function pipelined(
  call: () => Promise<unknown>,
  inFlight: number,
  durationMs: number,
  pid: number,
): Promise<{ callsPerSecond: number; cpuMicros: { host: number; plugin: number } }> {
  let done = 0;
  let running = true;
  const worker = async () => {
    while (running) {
      await call();
      done++;
    }
  };
  const workers = Array.from({ length: inFlight }, worker);
  await new Promise((resolve) => setTimeout(resolve, 300)); // warm-up
  const startCount = done;
  const start = performance.now();
  const hostCpu = cpuMicros("self");
  const pluginCpu = cpuMicros(pid);
  await new Promise((resolve) => setTimeout(resolve, durationMs));
  const count = done - startCount;
  const seconds = (performance.now() - start) / 1000;
  const cpu = {
    host: Math.round(((cpuMicros("self") - hostCpu) / count) * 10) / 10,
    plugin: Math.round(((cpuMicros(pid) - pluginCpu) / count) * 10) / 10,
  };
  running = false;
  await Promise.all(workers);
  return { callsPerSecond: Math.round(count / seconds), cpuMicros: cpu };
}

/**
 * The floor: one small line to a process that echoes it back, with no protocol on either
 * side, through the same kind of pipes, sequentially.
 */
async function echoFloor(dir: string, calls: number): Promise<Summary> {
  // The host's kind of pipes (lib/host/_spawn.ts): node:child_process, read as data arrives.
  const child = spawn(await writeLauncher(dir, "echo", ECHO), [], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const line = new TextEncoder().encode(
    '{"jsonrpc":"2.0","id":1,"method":"router.route","params":{"model":"gpt-4o-mini"}}\n',
  );
  let received = 0;
  let answered: (() => void) | null = null;
  child.stdout!.on("data", (chunk: Uint8Array) => {
    received += chunk.length;
    if (received >= line.length) {
      received -= line.length;
      answered?.();
    }
  });
  const roundTrip = () =>
    new Promise<void>((resolve, reject) => {
      answered = resolve;
      child.stdin!.write(line, (error) => error && reject(error));
    });
  try {
    return await sequential(roundTrip, calls);
  } finally {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.stdin!.end();
    await exited;
  }
}

/**
 * Measure every case of the hop against one fixture process.
 *
 * @returns One result per case.
 */
export async function measureHop(): Promise<HopResult[]> {
  const dir = await Deno.makeTempDir({ prefix: "vulpes-hop-" });
  const plugin = await startFixture(dir).catch(async (error) => {
    await Deno.remove(dir, { recursive: true });
    throw error;
  });
  try {
    const router = routerClient(plugin);
    const upstream = upstreamProviderClient(plugin, createChunkRouter());
    const routeParams = {
      model: "gpt-4o-mini",
      identity: { tenant: "acme", groups: ["eng"] },
      request: { stream: false, estimated_tokens: 12 },
    };
    const small = () => router.route(routeParams);
    const rawSmall = () => plugin.request("router.route", routeParams);
    const bigRequest = {
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "x".repeat(100_000) }],
    };
    const route = { upstream: "echo", model: "gpt-4o-mini" };
    const large = () => upstream.chat({ route, request: bigRequest, stream: false });
    const results: HopResult[] = [];
    results.push({
      name: "floor: echo of one line, no protocol",
      latency: await echoFloor(dir, 20_000),
    });
    results.push({ name: "router.route, typed client", latency: await sequential(small, 20_000) });
    results.push({
      name: "router.route, typed client, 5 ms apart",
      latency: await sequential(small, 1_000, 5),
    });
    results.push({
      name: "router.route, raw request",
      latency: await sequential(rawSmall, 20_000),
    });
    results.push({ name: "upstream.chat 100 KB", latency: await sequential(large, 2_000) });
    const pid = plugin.pid!;
    for (const inFlight of [16, 128]) {
      results.push({
        name: "router.route, typed client",
        inFlight,
        ...await pipelined(small, inFlight, 2_000, pid),
      });
      results.push({
        name: "router.route, raw request",
        inFlight,
        ...await pipelined(rawSmall, inFlight, 2_000, pid),
      });
    }
    results.push({
      name: "upstream.chat 100 KB",
      inFlight: 16,
      ...await pipelined(large, 16, 2_000, pid),
    });
    return results;
  } finally {
    await plugin.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * The hop's results as a markdown table.
 *
 * @param results What {@linkcode measureHop} measured.
 * @returns The table.
 */
export function hopTable(results: readonly HopResult[]): string {
  return markdownTable(
    ["case", "in flight", "p50 µs", "p99 µs", "calls/s", "CPU µs/call host", "CPU µs/call plugin"],
    results.map((r) => [
      r.name,
      r.inFlight ?? 1,
      r.latency ? r.latency.p50.toFixed(1) : "–",
      r.latency ? r.latency.p99.toFixed(1) : "–",
      r.callsPerSecond ?? "–",
      r.cpuMicros?.host ?? "–",
      r.cpuMicros?.plugin ?? "–",
    ]),
  );
}

if (import.meta.main) {
  measureHop().then(async (results) => {
    await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
    await Deno.writeTextFile(
      new URL("./results/stdio_hop.json", import.meta.url),
      JSON.stringify({ date: new Date().toISOString(), load: Deno.loadavg(), results }, null, 2),
    );
    console.log(`## The stdio hop\n\n${hopTable(results)}\n`);
  });
}
