// One autocannon run for bench/e2e.ts (which runs it once before, unrecorded, to warm up).
//
//   node bench/node/load.mjs '{"url": "...", "headers": {...}, "body": "...", "connections": 10,
//                              "durationSeconds": 10, "amount": 30000, "overallRate": 500}'
//
// `[<id>]` in the body is replaced by a unique id per request (autocannon's idReplacement).
// With `amount` the run ends when that many answers are in (each connection stops after its
// share): no request is cut off at the end, as with `durationSeconds` alone, where the
// target sees up to `connections` clients vanish mid-answer. Prints one JSON object: counts,
// status codes, errors, this process's CPU time, `durationSeconds` from the start to the last
// answer, the rate over the second half of `durationSeconds` (bench/e2e.ts sizes `amount` with a
// warm-up's), and the latency of every answer in milliseconds (µs precision, from autocannon's
// `response` events: its own histogram keeps whole milliseconds only).
import autocannon from "autocannon";
import { performance } from "node:perf_hooks";

const args = JSON.parse(process.argv[2] ?? "{}");

function run(latencies, clock) {
  return new Promise((resolve, reject) => {
    const instance = autocannon({
      url: args.url,
      method: "POST",
      headers: args.headers,
      body: args.body,
      idReplacement: true,
      connections: args.connections,
      ...(args.amount ? { amount: args.amount } : { duration: args.durationSeconds }),
      timeout: args.timeoutSeconds ?? 30,
      ...(args.overallRate ? { overallRate: args.overallRate } : {}),
    }, (error, result) => error ? reject(error) : resolve(result));
    const half = args.durationSeconds * 500;
    instance.on("response", function recordLatency(_client, _status, _bytes, ms) {
      clock.last = performance.now();
      if (clock.last - clock.start > half) clock.secondHalf++;
      latencies.push(Math.round(ms * 1000) / 1000);
    });
  });
}

async function main() {
  const latencies = [];
  const cpu = process.cpuUsage();
  const clock = { start: performance.now(), last: 0, secondHalf: 0 };
  const result = await run(latencies, clock);
  const { user, system } = process.cpuUsage(cpu);
  const statusCodes = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats)) {
    statusCodes[code] = count;
  }
  const out = {
    durationSeconds: clock.last ? (clock.last - clock.start) / 1000 : result.duration,
    secondHalfRate: clock.secondHalf / (args.durationSeconds / 2),
    sent: result.requests.sent,
    ok: result["2xx"],
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statusCodes,
    cpuMs: (user + system) / 1000,
    latencyMs: latencies,
  };
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((error) => {
  process.stderr.write(`Cannot run autocannon: ${error?.stack ?? error}\n`);
  process.exit(1);
});
