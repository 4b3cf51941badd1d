import assert from "node:assert/strict";
import type { PluginContext, PluginInstance } from "@vulpes/contract/plugin";
import { servePlugin } from "@vulpes/contract/plugin";
import { createLinkedPair, Peer, RpcError } from "@vulpes/contract/protocol";
import { createTestCall, createTestContext } from "@vulpes/contract/testing";
import { configSchema } from "./config.ts";
import { plugin } from "./mod.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");

const CONFIG = {
  rules: [
    { name: "per-subject", window: "1m", requests: 2, tokens: 1000 },
    {
      name: "acme-daily",
      match: { tenant: "acme" },
      key_by: ["tenant"],
      window: "1d",
      tokens: 5000,
    },
  ],
};

const call = createTestCall();

async function instance(
  config: unknown = CONFIG,
  context: Partial<PluginContext> = {},
): Promise<PluginInstance> {
  return await plugin.create(configSchema.parse(config), createTestContext(context));
}

Deno.test("acquire() and settle() run on the context's clock", async () => {
  let now = T0 + 59_999;
  const p = await instance(CONFIG, { now: () => now });
  const limiter = p.rate_limiter!;
  const params = { subject: "alice", tenant: "acme", model: "gpt-4o", estimated_tokens: 400 };
  const first = await limiter.acquire(params, call);
  assert.equal(first.allowed, true);
  assert.deepEqual(first.limits, [
    { name: "per-subject", unit: "requests", limit: 2, remaining: 1, reset_ms: 1 },
    { name: "per-subject", unit: "tokens", limit: 1000, remaining: 600, reset_ms: 1 },
    { name: "acme-daily", unit: "tokens", limit: 5000, remaining: 4600, reset_ms: 86_340_001 },
  ]);
  assert.deepEqual(
    await limiter.settle({ reservation: first.reservation!, actual_tokens: 100 }, call),
    {
      settled: true,
    },
  );
  await limiter.acquire(params, call);
  const refused = await limiter.acquire(params, call);
  assert.deepEqual([refused.allowed, refused.retry_after_ms], [false, 1]);
  now = T0 + 60_000;
  const next = await limiter.acquire(params, call);
  assert.equal(next.allowed, true);
  assert.deepEqual(next.limits.map((l) => l.remaining), [1, 600, 4100]);
});

Deno.test("health reports rules, active windows, reservations and refusals", async () => {
  let now = T0;
  const p = await instance(CONFIG, { now: () => now });
  const params = { subject: "bob", model: "m", estimated_tokens: 1 };
  for (let i = 0; i < 3; i++) await p.rate_limiter!.acquire(params, call);
  assert.deepEqual(await p.health!(), {
    status: "ok",
    detail: {
      rules: 2,
      active_windows: 1,
      reservations: 2,
      refused: 1,
      refused_by_rule: { "per-subject": 1, "acme-daily": 0 },
    },
  });
  now = T0 + 60_000;
  const detail = (await p.health!()).detail!;
  assert.deepEqual([detail.active_windows, detail.reservations], [0, 0], "health sweeps first");
});

Deno.test("initialize refuses a bad config, listing every field path", async () => {
  const [core, side] = createLinkedPair();
  const served = servePlugin(plugin, side, { writeLog: () => {} });
  const host = new Peer(core);
  await host.start();
  const error = await host.request("initialize", {
    protocol_version: "1",
    instance: "limits",
    capabilities: ["rate_limiter"],
    config: {
      rules: [
        { name: "a", window: "1.5m", requests: 0, match: { group: "admins", colour: "red" } },
        { name: "a", window: "40d", key_by: ["subject", "subject", "ip"] },
        { window: 60, tokens: -1 },
      ],
      sweep_every: 0,
      shards: 4,
    },
    settings: { capture_payloads: false },
  }).then(() => null, (e) => e);
  assert.ok(error instanceof RpcError, String(error));
  const data = error.data as { type: string; errors: { path: string; message: string }[] };
  assert.equal(data.type, "invalid_config");
  assert.deepEqual(data.errors.map((issue) => issue.path).sort(), [
    "rules[0].match.colour",
    "rules[0].requests",
    "rules[0].window",
    "rules[1]",
    "rules[1].key_by[1]",
    "rules[1].key_by[2]",
    "rules[1].name",
    "rules[1].window",
    "rules[2].name",
    "rules[2].tokens",
    "rules[2].window",
    "shards",
    "sweep_every",
  ]);
  const message = (path: string) => data.errors.find((issue) => issue.path === path)!.message;
  assert.match(message("rules[0].window"), /like "500ms", "1s", "1m", "1h" or "1d".*"1\.5m"/);
  assert.match(message("rules[1].window"), /at most 31d, received "40d"/);
  assert.match(message("rules[1]"), /expected "requests", "tokens" or both/);
  assert.match(message("rules[1].name"), /duplicate rule name "a"/);
  assert.match(message("rules[1].key_by[1]"), /duplicate field "subject"/);
  await host.request("shutdown");
  await served.done;
});

Deno.test("initialize refuses a config without rules", () => {
  for (const config of [{}, { rules: [] }]) {
    const result = configSchema.safeParse(config);
    assert.ok(!result.success);
    assert.deepEqual(result.error.issues.map((issue) => issue.path.join(".")), ["rules"]);
  }
});

Deno.test("acquire() applies a group rule to callers in a matching group only", async () => {
  const { configSchema } = await import("./config.ts");
  const { plugin } = await import("./mod.ts");
  const { createTestContext } = await import("@vulpes/contract/testing");
  const config = configSchema.parse({
    rules: [{
      name: "admins",
      window: "1m",
      requests: 1,
      match: { group: "admin*" },
      key_by: ["subject"],
    }],
  });
  const instance = await plugin.create(config, createTestContext());
  const acquire = (groups: string[]) =>
    instance.rate_limiter!.acquire(
      { subject: "s", model: "m", estimated_tokens: 1, groups },
      call,
    );
  assert.equal((await acquire(["admins"])).allowed, true);
  assert.equal((await acquire(["admins"])).allowed, false);
  const other = await acquire(["users"]);
  assert.equal(other.allowed, true);
  assert.deepEqual(other.limits, []);
});
