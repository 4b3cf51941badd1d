/**
 * The results of bench/e2e.ts and what is computed from them, without I/O: the problems that
 * make a row meaningless, the ratios between targets, and the markdown report.
 *
 * @module
 */

import { markdownTable } from "./_markdown.ts";
import type { Summary } from "./_stats.ts";

/** A measured target. */
export type TargetName = "mock" | "vulpes" | "portkey";

/** How a row was measured. */
export type Scenario = "closed" | "open" | "ttfb";

/** Names of the targets in the report. */
export const TARGET_LABELS: Readonly<Record<TargetName, string>> = {
  mock: "mock upstream (direct)",
  vulpes: "Vulpes dev gateway",
  portkey: "Portkey gateway 1.15.2",
};

/** Latency percentiles in milliseconds, with the maximum. */
export interface Latency extends Summary {
  /** The slowest. */
  max: number;
}

/** One measured run: a target under one scenario. */
export interface E2eResult {
  /** What was measured. */
  target: TargetName;
  /** Closed loop (fixed connections), open loop (fixed rate) or TTFB (a lower fixed rate). */
  scenario: Scenario;
  /** Whether the requests asked for `stream: true`. */
  stream: boolean;
  /** The load generator: autocannon, or bench/node/fixed_rate.mjs (evenly spaced starts). */
  generator: "autocannon" | "fixed-rate";
  /** Connections of the load generator. */
  connections: number;
  /** Requests per second asked for; absent in a closed loop. */
  rate?: number;
  /** Length of the measured run in seconds, to the last answer (warm-up not included). */
  durationSeconds: number;
  /** Complete 2xx answers. */
  requests: number;
  /** Complete 2xx answers per second. */
  requestsPerSecond: number;
  /** Time to the end of the answer, in milliseconds; null without answers. */
  latencyMs: Latency | null;
  /** Time to the first body byte of a stream, in milliseconds (fixed-rate generator only). */
  ttfbMs?: Latency | null;
  /** Connection errors. */
  errors: number;
  /** Requests that timed out. */
  timeouts: number;
  /** Answers with a status outside 2xx. */
  non2xx: number;
  /** 2xx answers without the expected end (TTFB scenario: a stream without `[DONE]`). */
  mismatches: number;
  /** Answers by HTTP status. */
  statusCodes: Record<string, number>;
  /** CPU time per complete answer in milliseconds, by process (`client` is the load generator). */
  cpuMsPerRequest: Record<string, number>;
  /** Why the row should not be trusted; empty when nothing is wrong. */
  problems: string[];
}

/** What {@linkcode findProblems} checks, besides the row itself. */
export interface ProblemInput {
  /** The row (its `problems` are ignored). */
  result: Omit<E2eResult, "problems">;
  /** The client's lag starting requests, p99 in ms (fixed-rate client only). */
  clientLagP99Ms?: number;
  /** The most requests in flight at once (fixed-rate client only). */
  maxInFlight?: number;
  /** Warning or error lines the target's processes wrote during the run. */
  warnings?: number;
  /** The last of them. */
  lastWarning?: string;
  /** The dev gateway's /healthz counters over the run (warm-up included), vulpes only. */
  gateway?: GatewayCounters;
}

/** Differences of the dev gateway's /healthz counters over a run. */
export interface GatewayCounters {
  /** cache-memory hits: every request should miss. */
  cacheHits: number;
  /** cache-memory misses. */
  cacheMisses: number;
  /** Requests refused by ratelimit-memory. */
  refused: number;
  /** Failed upstream calls. */
  upstreamFailures: number;
  /** Plugin restarts. */
  restarts: number;
  /** Observer events dropped or failed. */
  eventsLost: number;
}

/**
 * Everything that makes a row meaningless: errors, non-2xx answers, a rate not held, a lagging
 * client, warnings in the target's log, cache hits, refusals, restarts, lost events.
 *
 * @param input The row and what was observed around it.
 * @returns One sentence per problem; empty when none.
 */
export function findProblems(input: ProblemInput): string[] {
  const { result, gateway } = input;
  const problems: string[] = [];
  const count = (n: number, what: string) => n > 0 && problems.push(`${n} ${what}`);
  if (result.requests === 0) problems.push("no complete 2xx answer");
  count(result.errors, "connection errors");
  count(result.timeouts, "timeouts");
  count(result.non2xx, `non-2xx answers (${statusList(result.statusCodes)})`);
  count(result.mismatches, "incomplete streams");
  if (result.rate !== undefined && result.requestsPerSecond < 0.95 * result.rate) {
    problems.push(`rate not held: ${result.requestsPerSecond.toFixed(0)} of ${result.rate} req/s`);
  }
  if ((input.maxInFlight ?? 0) >= result.connections) {
    problems.push(
      `the target fell behind: all ${result.connections} connections busy, latency includes queueing`,
    );
  }
  if ((input.clientLagP99Ms ?? 0) > 5) {
    problems.push(`client lagged: p99 ${input.clientLagP99Ms!.toFixed(1)} ms late`);
  }
  const last = input.lastWarning ? `, the last: ${input.lastWarning.slice(0, 200)}` : "";
  count(input.warnings ?? 0, `warning lines in the target's log${last}`);
  if (gateway) {
    count(gateway.cacheHits, "cache hits (bodies should be unique)");
    if (gateway.cacheMisses === 0) problems.push("no cache miss: the cache was not called");
    count(gateway.refused, "requests refused by the rate limiter");
    count(gateway.upstreamFailures, "failed upstream calls");
    count(gateway.restarts, "plugin restarts");
    count(gateway.eventsLost, "observer events lost");
  }
  return problems;
}

function statusList(codes: Record<string, number>): string {
  return Object.entries(codes).filter(([code]) => !code.startsWith("2"))
    .map(([code, n]) => `${code}: ${n}`).join(", ");
}

/** p50 and p99 differences in milliseconds. */
export interface Added {
  /** Median difference. */
  p50: number;
  /** 99th percentile difference. */
  p99: number;
}

/** The comparisons of the report; null where a row is missing. */
export interface E2eSummary {
  /** Vulpes req/s over Portkey req/s in the closed loop. */
  throughputRatio: { json: number | null; stream: number | null };
  /** Latency over the direct mock's in the open loop (whole answer), and TTFB over the mock's. */
  added: Record<"vulpes" | "portkey", {
    json: Added | null;
    stream: Added | null;
    ttfb: Added | null;
  }>;
}

/**
 * Compare the targets: throughput ratio in the closed loop, latency added over the direct mock
 * in the open loop, TTFB added over the mock's.
 *
 * @param results The rows of one run.
 * @returns The comparisons.
 */
export function summarize(results: readonly E2eResult[]): E2eSummary {
  const find = (target: TargetName, scenario: Scenario, stream: boolean) =>
    results.find((r) => r.target === target && r.scenario === scenario && r.stream === stream);
  function ratio(stream: boolean): number | null {
    const vulpes = find("vulpes", "closed", stream)?.requestsPerSecond;
    const portkey = find("portkey", "closed", stream)?.requestsPerSecond;
    return vulpes !== undefined && portkey ? vulpes / portkey : null;
  }
  function added(target: TargetName, scenario: Scenario, stream: boolean): Added | null {
    const pick = (r: E2eResult | undefined) => scenario === "ttfb" ? r?.ttfbMs : r?.latencyMs;
    const over = pick(find(target, scenario, stream));
    const base = pick(find("mock", scenario, stream));
    return over && base ? { p50: over.p50 - base.p50, p99: over.p99 - base.p99 } : null;
  }
  const addedFor = (target: TargetName) => ({
    json: added(target, "open", false),
    stream: added(target, "open", true),
    ttfb: added(target, "ttfb", true),
  });
  return {
    throughputRatio: { json: ratio(false), stream: ratio(true) },
    added: { vulpes: addedFor("vulpes"), portkey: addedFor("portkey") },
  };
}

/**
 * The markdown report: one table per scenario, the comparisons, and CPU per request.
 *
 * @param results The rows of one run.
 * @param summary Their comparisons, from {@linkcode summarize}.
 * @returns Markdown text.
 */
export function renderMarkdown(results: readonly E2eResult[], summary: E2eSummary): string {
  const out: string[] = [];
  const groups: [Scenario, boolean][] = [
    ["closed", false],
    ["closed", true],
    ["open", false],
    ["open", true],
    ["ttfb", true],
  ];
  for (const [scenario, stream] of groups) {
    const rows = results.filter((r) => r.scenario === scenario && r.stream === stream);
    if (rows.length > 0) out.push(table(scenario, stream, rows));
  }
  out.push(comparisons(summary), cpuTable(results));
  return out.join("\n\n") + "\n";
}

function table(scenario: Scenario, stream: boolean, rows: E2eResult[]): string {
  const first = rows[0]!;
  const mode = stream ? "streaming" : "non-streaming";
  const title = scenario === "closed"
    ? `Closed loop, ${first.connections} connections, ${mode}`
    : scenario === "open"
    ? `Open loop, ${first.rate} req/s, ${first.connections} connections, ${mode}`
    : `Time to first byte, ${first.rate} req/s, ${first.connections} connections, ${mode}`;
  const ttfb = rows.some((r) => r.ttfbMs !== undefined);
  const head = ["target", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms"]
    .concat(ttfb ? ["TTFB p50", "TTFB p90", "TTFB p99"] : [], "problems");
  const body = rows.map((r) => {
    const l = r.latencyMs;
    const t = r.ttfbMs;
    const problems = r.problems.length ? `⚠ ${r.problems.join("; ")}` : "";
    return [TARGET_LABELS[r.target], rps(r), ms(l?.p50), ms(l?.p90), ms(l?.p99), ms(l?.max)]
      .concat(ttfb ? [ms(t?.p50), ms(t?.p90), ms(t?.p99)] : [], problems);
  });
  const note = first.generator === "autocannon" ? "autocannon" : "bench/node/fixed_rate.mjs";
  return `### ${title} (${note})\n\n${markdownTable(head, body)}`;
}

function comparisons(summary: E2eSummary): string {
  const ratio = (n: number | null) => n === null ? "–" : `${n.toFixed(2)}×`;
  const added = (a: Added | null) => a ? `${signed(a.p50)} / ${signed(a.p99)} ms` : "–";
  const { vulpes, portkey } = summary.added;
  const rows = [
    [
      "Vulpes / Portkey throughput, closed loop",
      ratio(summary.throughputRatio.json),
      ratio(summary.throughputRatio.stream),
    ],
    [
      "Vulpes latency added over the mock, open loop (p50 / p99)",
      added(vulpes.json),
      added(vulpes.stream),
    ],
    [
      "Portkey latency added over the mock, open loop (p50 / p99)",
      added(portkey.json),
      added(portkey.stream),
    ],
    ["Vulpes TTFB added over the mock (p50 / p99)", "", added(vulpes.ttfb)],
    ["Portkey TTFB added over the mock (p50 / p99)", "", added(portkey.ttfb)],
  ];
  return `### Comparisons\n\n${markdownTable(["", "non-streaming", "streaming"], rows)}`;
}

function cpuTable(results: readonly E2eResult[]): string {
  const rows = results.filter((r) => r.scenario === "closed").map((r) => [
    TARGET_LABELS[r.target],
    r.stream ? "streaming" : "non-streaming",
    Object.entries(r.cpuMsPerRequest).map(([name, cpu]) => `${name} ${cpu.toFixed(3)}`).join(", "),
  ]);
  const head = ["target", "mode", "CPU ms per request, by process (closed loop)"];
  return `### Where the CPU goes\n\n${markdownTable(head, rows)}`;
}

function rps(r: E2eResult): string {
  return r.requestsPerSecond.toFixed(0);
}

function ms(value: number | undefined): string {
  return value === undefined ? "–" : value.toFixed(2);
}

function signed(value: number): string {
  return `${value >= 0 ? "+" : "−"}${Math.abs(value).toFixed(2)}`;
}
