/**
 * Benchmarks of ratelimit-redis: the pure script-argument building and reply reading, one
 * `ratelimit.acquire` in-process against a real redis-server (one script round trip), and
 * `ratelimit.acquire` through bin/ratelimit-redis over stdio. Run with `make bench` (which
 * builds bin/ first) or `deno bench -A plugins/ratelimit-redis/`. The Redis server and the
 * plugin process are started once here and stopped by the last bench of the file; a
 * `--filter` that leaves it out leaves deno bench waiting on the children.
 *
 * @module
 */

import type { AcquireParams } from "@vulpes/contract/capabilities";
import { PluginProcess, rateLimiterClient } from "@vulpes/contract/host";
import { createTestCall, createTestContext, startRedis } from "@vulpes/contract/testing";
import { pluginBinary } from "../../tests/_support.ts";
import { compileRules } from "../ratelimit-memory/_rules.ts";
import { commonKeyFields } from "./_keys.ts";
import { planAcquire, readAcquireReply } from "./_script.ts";
import { configSchema } from "./config.ts";
import { plugin } from "./mod.ts";

const RULES = [
  { name: "per-subject", window: "1m", requests: 1_000_000_000, tokens: 1_000_000_000_000 },
  { name: "per-tenant", key_by: ["tenant"], window: "1h", tokens: 1_000_000_000_000 },
  { name: "o1", match: { model: "o1*" }, key_by: ["subject", "model"], window: "1s", requests: 1 },
];
const SUBJECTS = Array.from({ length: 1000 }, (_, i) => `user-${i}`);
const call = createTestCall();
let turn = 0;

function params(model: string): AcquireParams {
  const subject = SUBJECTS[turn++ % SUBJECTS.length]!;
  return { subject, tenant: `tenant-${turn % 7}`, model, estimated_tokens: 500 };
}

// Pure: what one acquire costs before and after the round trip.
const compiled = compileRules(configSchema.parse({ url: "redis://x", rules: RULES }).rules);
const layout = { prefix: "vulpes:rl:", tagFields: commonKeyFields(compiled) };
const caller = { subject: "user-1", tenant: "acme", model: "gpt-4o" };
const plan = planAcquire(layout, compiled, {
  caller,
  estimatedTokens: 500,
  nonce: "0000",
  now: null,
})!;
const reply = [1, 1_800_000_000_000, 0, 1, 500, 1_800_000_060_000, 1, 500, 1_800_003_600_000];

Deno.bench("planAcquire (3 rules, 2 match)", { group: "pure" }, () => {
  planAcquire(layout, compiled, { caller, estimatedTokens: 500, nonce: "0000", now: null });
});

Deno.bench("readAcquireReply (2 rules)", { group: "pure" }, () => {
  readAcquireReply(plan, reply);
});

// A real server and the plugin: in-process over one connection, and the binary over stdio.
const redis = startRedis();
const instance = redis.then((server) =>
  plugin.create(
    configSchema.parse({ url: server.url, rules: RULES }),
    createTestContext({ now: Date.now, random: Math.random }),
  )
);
const started = redis.then((server) =>
  PluginProcess.start({
    command: pluginBinary("ratelimit-redis"),
    instance: "bench",
    capabilities: ["rate_limiter"],
    config: { url: server.url, rules: RULES },
    onLog: () => {},
    restart: false,
  })
);
const client = started.then(rateLimiterClient);
let stopped = false;

Deno.bench("acquire in-process, one at a time (one script round trip)", {
  group: "redis",
}, async () => {
  await (await instance).rate_limiter!.acquire(params("gpt-4o"), call);
});

Deno.bench("acquire in-process, 100 concurrent", { group: "redis" }, async () => {
  const limiter = (await instance).rate_limiter!;
  await Promise.all(Array.from({ length: 100 }, () => limiter.acquire(params("gpt-4o"), call)));
});

Deno.bench("acquire through bin/ratelimit-redis, one at a time", { group: "stdio" }, async () => {
  await (await client).acquire(params("gpt-4o"));
});

Deno.bench("acquire through bin/ratelimit-redis, 100 concurrent", { group: "stdio" }, async () => {
  const limiter = await client;
  await Promise.all(Array.from({ length: 100 }, () => limiter.acquire(params("gpt-4o"))));
});

Deno.bench("(teardown: stops bin/ratelimit-redis and Redis, not a measurement)", {
  group: "teardown",
}, async () => {
  if (stopped) return;
  stopped = true;
  await (await started).shutdown();
  await (await instance).close!();
  await (await redis).close();
});
