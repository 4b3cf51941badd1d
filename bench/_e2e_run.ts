/**
 * One measured run of bench/e2e.ts: a warm-up with the same load (not recorded), a pause, then
 * the run itself with CPU time, warnings and the dev gateway's counters read around it, turned
 * into an {@linkcode E2eResult} with its problems.
 *
 * @module
 */

import { percentile } from "./_stats.ts";
import { type E2eResult, findProblems, type Latency, type Scenario } from "./_e2e_report.ts";
import { cpuMs, runNodeJson } from "./_e2e_services.ts";
import { counterChange, type Target } from "./_e2e_targets.ts";

/** The load generator of the open loop. */
export type OpenLoopTool = "fixed-rate" | "autocannon";

/** Durations, connections and rates of a run. */
export interface E2ePlan {
  /** Unrecorded run before each measured one, same load. */
  warmupSeconds: number;
  /** Connections of the closed loop. */
  closedConnections: number;
  /** Length of a closed-loop run (about: it is a number of requests, from the warm-up's rate). */
  closedSeconds: number;
  /** Requests per second of the open loop. */
  openRate: number;
  /** Connections of the open loop. */
  openConnections: number;
  /** Length of an open-loop run. */
  openSeconds: number;
  /**
   * The open loop's generator: bench/node/fixed_rate.mjs (evenly spaced starts) or autocannon's
   * `overallRate` (each connection's share of a second sent back to back: bursts).
   */
  openLoop: OpenLoopTool;
  /** Requests per second of the TTFB run. */
  ttfbRate: number;
  /** Most connections of the TTFB run. */
  ttfbConnections: number;
  /** Length of a TTFB run. */
  ttfbSeconds: number;
  /** Pause after a warm-up and between runs, so that one run's leftovers miss the next. */
  settleMs: number;
}

/**
 * The plan of a full run, or of a quick one (short runs, for iterating on the harness).
 *
 * @param quick Whether the runs are short.
 * @param openLoop The open loop's generator.
 * @returns The plan.
 */
export function e2ePlan(quick: boolean, openLoop: OpenLoopTool = "fixed-rate"): E2ePlan {
  return {
    warmupSeconds: quick ? 1 : 3,
    closedConnections: 10,
    closedSeconds: quick ? 3 : 10,
    openRate: 500,
    openConnections: 50,
    openSeconds: quick ? 3 : 10,
    openLoop,
    ttfbRate: 200,
    ttfbConnections: 50,
    ttfbSeconds: quick ? 2 : 5,
    settleMs: quick ? 300 : 1000,
  };
}

/** What bench/node/load.mjs prints. */
interface LoadOutput {
  durationSeconds: number;
  secondHalfRate: number;
  ok: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  cpuMs: number;
  latencyMs: number[];
}

/** What bench/node/fixed_rate.mjs prints. */
interface FixedRateOutput {
  durationSeconds: number;
  errors: number;
  non2xx: number;
  mismatches: number;
  statusCodes: Record<string, number>;
  cpuMs: number;
  lateP99Ms: number;
  maxInFlight: number;
  ttfbMs: number[];
  totalMs: number[];
}

/**
 * Warm up, then measure one scenario against one target.
 *
 * @param target The target.
 * @param scenario Closed loop, open loop or TTFB.
 * @param stream Whether the requests ask for `stream: true`.
 * @param plan Durations, connections, rates.
 * @param signal Stops the run.
 * @returns The row.
 */
export async function measure(
  target: Target,
  scenario: Scenario,
  stream: boolean,
  plan: E2ePlan,
  signal: AbortSignal,
): Promise<E2eResult> {
  const run = planRun(target, scenario, stream, plan);
  const warm = await runNodeJson(
    run.script,
    { ...run.args, durationSeconds: plan.warmupSeconds },
    signal,
  );
  await sleep(plan.settleMs, signal);
  // The closed loop runs a number of requests (about `seconds` at the rate of the warm-up's
  // second half), so that no request is cut off at the end. autocannon's open loop keeps to
  // `seconds`: it sends each second's share at the start of the second, so a number of
  // requests would end it early.
  const expected = Math.round((warm as LoadOutput).secondHalfRate * run.seconds);
  const amount = scenario === "closed" ? { amount: Math.max(run.connections * 20, expected) } : {};
  const counters = await target.counters?.();
  const warnings = target.warnings();
  const pids = await target.processes();
  const cpu = Object.fromEntries(Object.entries(pids).map(([n, pid]) => [n, cpuMs(pid)]));
  const output = await runNodeJson(
    run.script,
    { ...run.args, durationSeconds: run.seconds, ...amount },
    signal,
  );
  await sleep(300, signal); // the observers' last batch (200 ms) is part of the run's CPU
  for (const [name, pid] of Object.entries(pids)) cpu[name] = cpuMs(pid) - cpu[name]!;
  const countersAfter = await target.counters?.();
  const result = run.autocannon
    ? fromLoad(run.base, output as LoadOutput, cpu)
    : fromFixedRate(run.base, output as FixedRateOutput, cpu);
  const after = target.warnings();
  const problems = findProblems({
    result,
    ...(run.autocannon ? {} : {
      clientLagP99Ms: (output as FixedRateOutput).lateP99Ms,
      maxInFlight: (output as FixedRateOutput).maxInFlight,
    }),
    warnings: after.count - warnings.count,
    ...(after.count > warnings.count && after.last ? { lastWarning: after.last } : {}),
    ...(counters && countersAfter ? { gateway: counterChange(countersAfter, counters) } : {}),
  });
  return { ...result, problems };
}

/** The generator, its arguments and the row's fixed fields for one scenario. */
function planRun(target: Target, scenario: Scenario, stream: boolean, plan: E2ePlan) {
  const autocannon = scenario === "closed" ||
    (scenario === "open" && plan.openLoop === "autocannon");
  const [connections, rate, seconds] = scenario === "closed"
    ? [plan.closedConnections, undefined, plan.closedSeconds]
    : scenario === "open"
    ? [plan.openConnections, plan.openRate, plan.openSeconds]
    : [plan.ttfbConnections, plan.ttfbRate, plan.ttfbSeconds];
  const body = JSON.stringify({
    model: "gpt-4o-mini",
    ...(stream ? { stream: true } : {}),
    messages: [{ role: "user", content: "Benchmark request [<id>]" }],
  });
  const args = {
    url: target.url,
    headers: target.headers,
    body,
    connections,
    ...(rate === undefined ? {} : autocannon ? { overallRate: rate } : { rate }),
    ...(autocannon ? {} : { expect: stream ? "[DONE]" : "finish_reason" }),
  };
  const base: Base = {
    target: target.name,
    scenario,
    stream,
    generator: autocannon ? "autocannon" : "fixed-rate",
    connections,
    ...(rate === undefined ? {} : { rate }),
  };
  return {
    autocannon,
    script: autocannon ? "load.mjs" : "fixed_rate.mjs",
    args,
    seconds,
    connections,
    base,
  };
}

type Base = Pick<
  E2eResult,
  "target" | "scenario" | "stream" | "generator" | "connections" | "rate"
>;

function fromLoad(
  base: Base,
  out: LoadOutput,
  cpu: Record<string, number>,
): Omit<E2eResult, "problems"> {
  return {
    ...base,
    durationSeconds: out.durationSeconds,
    requests: out.ok,
    requestsPerSecond: out.ok / out.durationSeconds,
    latencyMs: latency(out.latencyMs),
    errors: out.errors,
    timeouts: out.timeouts,
    non2xx: out.non2xx,
    mismatches: 0,
    statusCodes: out.statusCodes,
    cpuMsPerRequest: perRequest({ ...cpu, client: out.cpuMs }, out.ok),
  };
}

function fromFixedRate(
  base: Base,
  out: FixedRateOutput,
  cpu: Record<string, number>,
): Omit<E2eResult, "problems"> {
  const requests = out.totalMs.length;
  return {
    ...base,
    durationSeconds: out.durationSeconds,
    requests,
    requestsPerSecond: requests / out.durationSeconds,
    latencyMs: latency(out.totalMs),
    ...(base.stream ? { ttfbMs: latency(out.ttfbMs) } : {}),
    errors: out.errors,
    timeouts: 0,
    non2xx: out.non2xx,
    mismatches: out.mismatches,
    statusCodes: out.statusCodes,
    cpuMsPerRequest: perRequest({ ...cpu, client: out.cpuMs }, requests),
  };
}

function latency(samples: number[]): Latency | null {
  if (samples.length === 0) return null;
  return { ...percentile(samples), max: samples.reduce((a, b) => Math.max(a, b)) };
}

function perRequest(cpu: Record<string, number>, requests: number): Record<string, number> {
  const entries = Object.entries(cpu).map(([name, ms]) => [
    name,
    requests ? Math.round((ms / requests) * 1000) / 1000 : 0,
  ]);
  return Object.fromEntries(entries);
}

/**
 * Wait, or stop waiting when the signal aborts.
 *
 * @param ms How long.
 * @param signal Rejects the wait with its reason when aborted.
 * @returns After `ms`.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      signal.aborted ? reject(signal.reason) : resolve();
    }
  });
}
