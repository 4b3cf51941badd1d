// deno-lint-ignore-file no-console
/**
 * The end-to-end benchmark: the same load, from the same load generators, against the mock
 * upstream directly, the dev gateway with the example pipeline (bench/gateway.bench.yaml) and the
 * Portkey gateway, both in front of that mock.
 *
 * - closed loop: autocannon, 10 connections, JSON and streamed answers;
 * - open loop: 500 requests per second with evenly spaced starts (bench/node/fixed_rate.mjs),
 *   JSON and streamed; `--open-loop=autocannon` uses autocannon's `overallRate` instead, which
 *   sends bursts (see fixed_rate.mjs);
 * - time to first byte of streams at 200 requests per second (fixed_rate.mjs).
 *
 * Every request body is unique, so the gateway's cache always misses; each target must answer one
 * JSON and one streamed request right before it is measured; each row lists what makes it
 * meaningless (errors, non-2xx, a rate not held, warnings, cache hits, refusals…).
 *
 * Run: `deno run -A bench/e2e.ts [--quick] [--open-loop=autocannon]`. Needs the plugins built
 * (`deno task build`), Node and npm (bench/node is installed with `npm ci` on first use); uses
 * nothing beyond 127.0.0.1. Prints a markdown report and writes bench/results/e2e.json (machine
 * facts, plan, rows, comparisons; e2e.quick.json with `--quick`).
 *
 * @module
 */

import {
  type E2eResult,
  renderMarkdown,
  type Scenario,
  summarize,
  TARGET_LABELS,
  type TargetName,
} from "./_e2e_report.ts";
import { e2ePlan, measure, type OpenLoopTool, sleep } from "./_e2e_run.ts";
import { ensureNodeTools, NODE_DIR, ROOT, type Service, startMock } from "./_e2e_services.ts";
import { startTarget, type Target } from "./_e2e_targets.ts";
import { verifyTarget } from "./_e2e_verify.ts";

export type { E2eResult, TargetName } from "./_e2e_report.ts";
export { type E2ePlan, e2ePlan, type OpenLoopTool } from "./_e2e_run.ts";

/** Options of {@linkcode measureEndToEnd}. */
export interface MeasureEndToEndOptions {
  /**
   * Short runs, to iterate on the harness; the numbers are not worth keeping.
   *
   * @default {false}
   */
  quick?: boolean;
  /**
   * The open loop's generator: evenly spaced starts, or autocannon's bursty `overallRate`.
   *
   * @default {"fixed-rate"}
   */
  openLoop?: OpenLoopTool;
  /**
   * The targets measured, in this order within each scenario.
   *
   * @default {["mock", "vulpes", "portkey"]}
   */
  targets?: TargetName[];
  /**
   * Where progress lines go.
   *
   * @default {a line on stderr}
   */
  log?: (line: string) => void;
  /** Aborting it stops the run; everything started is stopped either way. */
  signal?: AbortSignal;
}

const SCENARIOS: [Scenario, boolean][] = [
  ["closed", false],
  ["closed", true],
  ["open", false],
  ["open", true],
  ["ttfb", true],
];

/**
 * Start the mock, the dev gateway and Portkey, check that each target answers right, measure
 * every scenario against every target, and stop everything (on failure and abort too).
 *
 * @param options Quick mode, open-loop generator, targets, progress, abort signal.
 * @returns One row per scenario and target.
 * @throws {Error} When a process cannot start, a target answers wrong, or a run fails.
 */
export async function measureEndToEnd(
  options: MeasureEndToEndOptions = {},
): Promise<E2eResult[]> {
  const log = options.log ?? ((line: string) => console.error(line));
  const names = options.targets ?? ["mock", "vulpes", "portkey"];
  const plan = e2ePlan(options.quick ?? false, options.openLoop);
  const signal = options.signal ?? new AbortController().signal;
  await checkBuilt();
  await ensureNodeTools(log);
  const started: Service[] = [];
  try {
    log("starting the mock upstream");
    const mock = await startMock();
    started.push(mock);
    const targets: Target[] = [];
    for (const name of names) {
      signal.throwIfAborted();
      log(`starting ${TARGET_LABELS[name]}`);
      const target = await startTarget(name, mock, started);
      await verifyTarget(target, "gpt-4o-mini");
      targets.push(target);
    }
    const results: E2eResult[] = [];
    for (const [scenario, stream] of SCENARIOS) {
      for (const target of targets) {
        const result = await measure(target, scenario, stream, plan, signal);
        log(progressLine(result));
        results.push(result);
        await sleep(plan.settleMs, signal);
      }
    }
    return results;
  } finally {
    await Promise.all(started.reverse().map((s) => s.stop()));
  }
}

async function checkBuilt(): Promise<void> {
  try {
    await Deno.stat(`${ROOT}/bin/authn-static-api-key`);
  } catch {
    throw new Error(`Cannot find the plugins in ${ROOT}/bin: run "deno task build" first`);
  }
}

function progressLine(r: E2eResult): string {
  const mode = `${r.scenario} ${r.stream ? "stream" : "json"}`.padEnd(13);
  const l = r.scenario === "ttfb" ? r.ttfbMs : r.latencyMs;
  const what = r.scenario === "ttfb" ? "TTFB" : "latency";
  const numbers = l
    ? `${what} p50 ${l.p50.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms`
    : "no answers";
  const flag = r.problems.length ? `  ⚠ ${r.problems.join("; ")}` : "";
  return `${mode} ${r.target.padEnd(8)} ${r.requestsPerSecond.toFixed(0)} req/s, ${numbers}${flag}`;
}

/** The machine a run was made on. */
export interface MachineFacts {
  /** When the run started (ISO 8601). */
  date: string;
  /** CPU model, from /proc/cpuinfo. */
  cpuModel: string;
  /** Logical CPUs. */
  cores: number;
  /** Total memory in GiB. */
  memoryGiB: number;
  /** OS, architecture and kernel release. */
  os: string;
  /** Deno, V8 and TypeScript versions. */
  deno: typeof Deno.version;
  /** `node --version`. */
  node: string;
  /** Versions of bench/node's packages, from its package-lock.json. */
  packages: Record<string, string>;
  /** 1, 5 and 15 minute load averages before the run. */
  loadAverageBefore: number[];
  /** The same after the run. */
  loadAverageAfter?: number[];
}

async function machineFacts(): Promise<MachineFacts> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const node = await new Deno.Command("node", { args: ["--version"], stdout: "piped" }).output()
    .then((o) => new TextDecoder().decode(o.stdout).trim(), () => "not found");
  const lock = JSON.parse(await Deno.readTextFile(`${NODE_DIR}/package-lock.json`));
  const packages: Record<string, string> = {};
  for (const name of ["autocannon", "@portkey-ai/gateway", "@hono/node-server", "hono"]) {
    packages[name] = lock.packages[`node_modules/${name}`]?.version ?? "?";
  }
  return {
    date: new Date().toISOString(),
    cpuModel: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? "unknown",
    cores: navigator.hardwareConcurrency,
    memoryGiB: Math.round(Deno.systemMemoryInfo().total / 2 ** 30 * 10) / 10,
    os: `${Deno.build.os} ${Deno.build.arch} ${Deno.osRelease()}`,
    deno: Deno.version,
    node,
    packages,
    loadAverageBefore: Deno.loadavg(),
  };
}

async function main(): Promise<number> {
  const quick = Deno.args.includes("--quick");
  const openLoop = Deno.args.includes("--open-loop=autocannon") ? "autocannon" : "fixed-rate";
  const controller = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => controller.abort(new Error(`Stopped by ${signal}`)));
  }
  try {
    const machine = await machineFacts();
    const results = await measureEndToEnd({ quick, openLoop, signal: controller.signal });
    machine.loadAverageAfter = Deno.loadavg();
    const summary = summarize(results);
    const plan = e2ePlan(quick, openLoop);
    const file = `bench/results/${quick ? "e2e.quick" : "e2e"}.json`;
    await Deno.mkdir(`${ROOT}/bench/results`, { recursive: true });
    await Deno.writeTextFile(
      `${ROOT}/${file}`,
      JSON.stringify({ machine, quick, plan, results, summary }, null, 2) + "\n",
    );
    const load = machine.loadAverageBefore.map((n) => n.toFixed(2)).join(" ");
    console.log(`## End to end${quick ? " (--quick: numbers not worth keeping)" : ""}\n`);
    console.log(
      `${machine.date}, ${machine.cpuModel} × ${machine.cores}, Deno ${machine.deno.deno}, ` +
        `Node ${machine.node}, load average before the run ${load}\n`,
    );
    console.log(renderMarkdown(results, summary));
    const flagged = results.filter((r) => r.problems.length > 0).length;
    if (flagged > 0) console.log(`⚠ ${flagged} rows have problems: their numbers mean little\n`);
    console.log(`Written to ${file}`);
    return 0;
  } catch (error) {
    console.error(`Cannot run the end-to-end benchmark: ${(error as Error).message}`);
    return 1;
  }
}

if (import.meta.main) main().then(Deno.exit);
