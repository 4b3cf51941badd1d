import assert from "node:assert/strict";
import {
  type E2eResult,
  findProblems,
  type GatewayCounters,
  renderMarkdown,
  summarize,
} from "./_e2e_report.ts";

function latency(p50: number, p99: number) {
  return { p50, p90: p99, p99, mean: p50, count: 100, max: p99 };
}

function row(overrides: Partial<E2eResult>): E2eResult {
  return {
    target: "mock",
    scenario: "closed",
    stream: false,
    generator: "autocannon",
    connections: 10,
    durationSeconds: 10,
    requests: 1000,
    requestsPerSecond: 100,
    latencyMs: latency(1, 2),
    errors: 0,
    timeouts: 0,
    non2xx: 0,
    mismatches: 0,
    statusCodes: { "200": 1000 },
    cpuMsPerRequest: {},
    problems: [],
    ...overrides,
  };
}

const QUIET_GATEWAY: GatewayCounters = {
  cacheHits: 0,
  cacheMisses: 1000,
  refused: 0,
  upstreamFailures: 0,
  restarts: 0,
  eventsLost: 0,
};

Deno.test("findProblems() finds nothing in a clean row", () => {
  assert.deepEqual(findProblems({ result: row({}), warnings: 0, gateway: QUIET_GATEWAY }), []);
});

Deno.test("findProblems() reports errors, non-2xx answers with their codes and no answers", () => {
  const result = row({
    requests: 0,
    errors: 3,
    non2xx: 5,
    statusCodes: { "401": 4, "503": 1 },
  });
  assert.deepEqual(findProblems({ result }), [
    "no complete 2xx answer",
    "3 connection errors",
    "5 non-2xx answers (401: 4, 503: 1)",
  ]);
});

Deno.test("findProblems() reports a rate not held, a target behind and a lagging client", () => {
  const result = row({ scenario: "open", rate: 500, requestsPerSecond: 470, connections: 50 });
  assert.deepEqual(findProblems({ result, clientLagP99Ms: 12.34, maxInFlight: 50 }), [
    "rate not held: 470 of 500 req/s",
    "the target fell behind: all 50 connections busy, latency includes queueing",
    "client lagged: p99 12.3 ms late",
  ]);
  const held = row({ scenario: "open", rate: 500, requestsPerSecond: 480, connections: 50 });
  assert.deepEqual(findProblems({ result: held, clientLagP99Ms: 4, maxInFlight: 12 }), []);
});

Deno.test("findProblems() reports the gateway's cache hits, refusals and the last warning", () => {
  const gateway = { ...QUIET_GATEWAY, cacheHits: 2, refused: 7 };
  assert.deepEqual(
    findProblems({ result: row({}), gateway, warnings: 1, lastWarning: '{"level":"warn"}' }),
    [
      '1 warning lines in the target\'s log, the last: {"level":"warn"}',
      "2 cache hits (bodies should be unique)",
      "7 requests refused by the rate limiter",
    ],
  );
  const uncalled = { ...QUIET_GATEWAY, cacheMisses: 0 };
  assert.deepEqual(findProblems({ result: row({}), gateway: uncalled }), [
    "no cache miss: the cache was not called",
  ]);
});

const RESULTS: E2eResult[] = [
  row({ target: "mock", requestsPerSecond: 5000 }),
  row({ target: "vulpes", requestsPerSecond: 600 }),
  row({ target: "portkey", requestsPerSecond: 400 }),
  row({ target: "mock", scenario: "open", rate: 500, latencyMs: latency(1, 4) }),
  row({ target: "vulpes", scenario: "open", rate: 500, latencyMs: latency(4, 12) }),
  row({ target: "portkey", scenario: "open", rate: 500, latencyMs: latency(9, 30) }),
  row({ target: "mock", scenario: "ttfb", stream: true, rate: 200, ttfbMs: latency(1, 3) }),
  row({ target: "vulpes", scenario: "ttfb", stream: true, rate: 200, ttfbMs: latency(3, 8) }),
];

Deno.test("summarize() compares throughput in the closed loop and latency with the mock's", () => {
  const summary = summarize(RESULTS);
  assert.equal(summary.throughputRatio.json, 1.5);
  assert.equal(summary.throughputRatio.stream, null);
  assert.deepEqual(summary.added.vulpes.json, { p50: 3, p99: 8 });
  assert.deepEqual(summary.added.portkey.json, { p50: 8, p99: 26 });
  assert.equal(summary.added.vulpes.stream, null);
  assert.deepEqual(summary.added.vulpes.ttfb, { p50: 2, p99: 5 });
  assert.equal(summary.added.portkey.ttfb, null);
});

Deno.test("renderMarkdown() writes a table per scenario, the comparisons and flagged rows", () => {
  const flagged = RESULTS.map((r) =>
    r.target === "portkey" && r.scenario === "open" ? { ...r, problems: ["3 timeouts"] } : r
  );
  const text = renderMarkdown(flagged, summarize(flagged));
  assert.match(text, /### Closed loop, 10 connections, non-streaming \(autocannon\)/);
  assert.match(text, /### Open loop, 500 req\/s, 10 connections, non-streaming/);
  assert.match(text, /### Time to first byte, 200 req\/s, 10 connections, streaming/);
  assert.match(text, /\| Vulpes \/ Portkey throughput, closed loop +\| 1\.50× +\| – +\|/);
  assert.match(
    text,
    /\| Vulpes latency added over the mock, open loop \(p50 \/ p99\) +\| \+3\.00 \/ \+8\.00 ms/,
  );
  assert.match(text, /\| Portkey gateway 1\.15\.2 .*\| ⚠ 3 timeouts \|/);
  assert.match(
    text,
    /\| Vulpes TTFB added over the mock \(p50 \/ p99\) +\| +\| \+2\.00 \/ \+5\.00 ms/,
  );
});
