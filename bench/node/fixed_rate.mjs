// The open-loop client of bench/e2e.ts: requests start at evenly spaced times, whatever the
// server's latency, each with a unique body, over at most `connections` keep-alive connections;
// each is timed to its first body byte (TTFB, which autocannon does not measure) and to its end.
// autocannon's `overallRate` is not used for this: it lets each connection send its share of a
// second back to back at the start of every second, so the server sees bursts, not a rate.
//
//   node bench/node/fixed_rate.mjs '{"url": "...", "headers": {...}, "body": "... [<id>] ...",
//                                    "rate": 500, "durationSeconds": 10, "connections": 50,
//                                    "expect": "[DONE]"}'
//
// Sends rate × durationSeconds requests, then waits for every answer. Prints one JSON object:
// counts, status codes, errors, this process's CPU time, how late it started requests (its own
// lag, which should stay near 0), the most requests in flight at once (at `connections`, the
// rest wait for a connection: the server is not keeping up), `durationSeconds` from the first
// start to the last answer (longer than asked when the server falls behind), and for each
// complete 2xx answer (with `expect` in its body, when given) `ttfbMs` and `totalMs`, in
// milliseconds with µs precision.
import http from "node:http";
import { performance } from "node:perf_hooks";

const args = JSON.parse(process.argv[2] ?? "{}");
const agent = new http.Agent({
  keepAlive: true,
  maxSockets: args.connections ?? 50,
});
const target = new URL(args.url);
const prefix = `${process.pid.toString(36)}${Date.now().toString(36)}`;
const out = {
  sent: 0,
  durationSeconds: 0,
  statusCodes: {},
  non2xx: 0,
  errors: 0,
  mismatches: 0,
  cpuMs: 0,
  lateP99Ms: 0,
  maxInFlight: 0,
  ttfbMs: [],
  totalMs: [],
};
let lastEnd = 0;
let inFlight = 0;

function send(id) {
  const body = args.body.replaceAll("[<id>]", `${prefix}-${id}`);
  const start = performance.now();
  out.maxInFlight = Math.max(out.maxInFlight, ++inFlight);
  return new Promise((resolve) => {
    let finished = false;
    function finish() {
      if (!finished) inFlight--;
      finished = true;
      resolve();
    }
    function failed() {
      if (!finished) out.errors++;
      finish();
    }
    const request = http.request({
      agent,
      hostname: target.hostname,
      port: target.port,
      path: target.pathname,
      method: "POST",
      headers: { ...args.headers, "content-length": Buffer.byteLength(body) },
    }, (response) => {
      let first = -1;
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => {
        if (first < 0) first = performance.now() - start;
        if (args.expect) text += chunk;
      });
      response.on("end", () => {
        lastEnd = performance.now();
        const status = response.statusCode ?? 0;
        out.statusCodes[status] = (out.statusCodes[status] ?? 0) + 1;
        if (status < 200 || status > 299) out.non2xx++;
        else if (args.expect && !text.includes(args.expect)) out.mismatches++;
        else {
          out.ttfbMs.push(Math.round(first * 1000) / 1000);
          out.totalMs.push(Math.round((lastEnd - start) * 1000) / 1000);
        }
        finish();
      });
      response.on("error", failed);
    });
    request.on("error", failed);
    request.end(body);
  });
}

async function main() {
  const cpu = process.cpuUsage();
  const interval = 1000 / args.rate;
  const count = Math.round(args.durationSeconds * args.rate);
  const late = new Float64Array(count);
  const pending = [];
  const start = performance.now();
  while (out.sent < count) {
    const now = performance.now();
    while (out.sent < count && start + out.sent * interval <= now) {
      late[out.sent] = now - (start + out.sent * interval);
      pending.push(send(out.sent++));
    }
    const wait = start + out.sent * interval - performance.now();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, wait)));
  }
  const sending = performance.now();
  await Promise.all(pending);
  out.durationSeconds = (Math.max(sending, lastEnd) - start) / 1000;
  late.sort();
  out.lateP99Ms = count ? late[Math.ceil(0.99 * count) - 1] : 0;
  const { user, system } = process.cpuUsage(cpu);
  out.cpuMs = (user + system) / 1000;
  agent.destroy();
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((error) => {
  process.stderr.write(
    `Cannot run the fixed-rate client: ${error?.stack ?? error}\n`,
  );
  process.exit(1);
});
