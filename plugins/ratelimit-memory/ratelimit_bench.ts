/**
 * Benchmarks of ratelimit-memory: `ratelimit.acquire` and `ratelimit.settle` in-process with
 * three rules, and `ratelimit.acquire` across the stdio hop through bin/ratelimit-memory.
 * Run with `make bench` (which builds bin/ first) or `deno bench -A plugins/ratelimit-memory/`.
 * The last bench of the file shuts the plugin process down; a `--filter` that leaves it out
 * leaves deno bench waiting on the child.
 *
 * @module
 */

import type { AcquireParams, AcquireResult } from "@vulpes/contract/capabilities";
import { PluginProcess, rateLimiterClient } from "@vulpes/contract/host";
import { createTestCall, createTestContext } from "@vulpes/contract/testing";
import { pluginBinary } from "../../tests/_support.ts";
import { configSchema } from "./config.ts";
import { plugin } from "./mod.ts";

const RULES = [
  { name: "per-subject", window: "1m", requests: 1_000_000_000, tokens: 1_000_000_000_000 },
  { name: "per-tenant", key_by: ["tenant"], window: "1h", tokens: 1_000_000_000_000 },
  { name: "o1", match: { model: "o1*" }, key_by: ["subject", "model"], window: "1s", requests: 1 },
];
const SUBJECTS = Array.from({ length: 1000 }, (_, i) => `user-${i}`);
const call = createTestCall();

// The real clock, as in the running plugin: windows roll over and sweeps run during the bench.
const created = plugin.create(
  configSchema.parse({ rules: RULES }),
  createTestContext({ now: Date.now, random: Math.random }),
);
if (created instanceof Promise) throw new TypeError("create() of ratelimit-memory is synchronous");
const limiter = created.rate_limiter!;
let turn = 0;

function params(model: string, estimated = 500): AcquireParams {
  const subject = SUBJECTS[turn++ % SUBJECTS.length]!;
  return { subject, tenant: `tenant-${turn % 7}`, model, estimated_tokens: estimated };
}

// In-process calls take about a microsecond, too short to time one by one with b.start():
// each iteration times a batch of 100 calls, so a call takes time/iter ÷ 100.
const BATCH = 100;

/** The handlers of this plugin answer synchronously; the contract types allow a promise. */
function acquireNow(request: AcquireParams): AcquireResult {
  const result = limiter.acquire(request, call);
  if (result instanceof Promise) throw new TypeError("acquire() answered with a promise");
  return result;
}

function batch(model: string): AcquireParams[] {
  return Array.from({ length: BATCH }, () => params(model));
}

// Each admitted request is settled outside the timing, as the core does: unsettled
// reservations would pile up until their windows end.
Deno.bench(
  "acquire allowed ×100 (3 rules, 2 match, 1000 subjects)",
  { group: "in-process" },
  (b) => {
    const requests = batch("gpt-4o");
    const reservations: string[] = [];
    b.start();
    for (const request of requests) reservations.push(acquireNow(request).reservation!);
    b.end();
    for (const reservation of reservations) {
      limiter.settle(
        { reservation, actual_tokens: 320 },
        call,
      );
    }
  },
);

Deno.bench("acquire refused ×100 (3 rules match, o1 full)", { group: "in-process" }, () => {
  for (let i = 0; i < BATCH; i++) {
    limiter.acquire({ subject: "hot", tenant: "t", model: "o1-mini", estimated_tokens: 1 }, call);
  }
});

Deno.bench("settle ×100 (the acquires outside the timing)", { group: "in-process" }, (b) => {
  const reservations = batch("gpt-4o").map((request) => acquireNow(request).reservation!);
  b.start();
  for (const reservation of reservations) limiter.settle({ reservation, actual_tokens: 320 }, call);
  b.end();
});

// Across the stdio hop: one process, started once here, and shut down by the last bench of
// the file (deno bench has no teardown hook, and the child keeps the event loop alive).
const started = PluginProcess.start({
  command: pluginBinary("ratelimit-memory"),
  instance: "bench",
  capabilities: ["rate_limiter"],
  config: { rules: RULES },
  onLog: () => {},
  restart: false,
});
const client = started.then(rateLimiterClient);
let stopped = false;

Deno.bench("acquire through bin/ratelimit-memory, one at a time", { group: "stdio" }, async () => {
  await (await client).acquire(params("gpt-4o"));
});

Deno.bench("acquire through bin/ratelimit-memory, 100 concurrent", { group: "stdio" }, async () => {
  const limiter = await client;
  await Promise.all(Array.from({ length: 100 }, () => limiter.acquire(params("gpt-4o"))));
});

Deno.bench("(teardown: shuts bin/ratelimit-memory down, not a measurement)", {
  group: "teardown",
}, async () => {
  if (stopped) return;
  stopped = true;
  await (await started).shutdown();
});
