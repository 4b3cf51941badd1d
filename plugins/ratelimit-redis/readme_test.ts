import assert from "node:assert/strict";
import { parse } from "yaml";
import type { AcquireResult } from "@vulpes/contract/capabilities";
import { createTestContext, startRedis } from "@vulpes/contract/testing";
import { configTable, tableCells } from "../../scripts/_config_table.ts";
import { configSchema } from "./config.ts";
import { plugin } from "./mod.ts";

async function readme(name = "ratelimit-redis"): Promise<string> {
  return await Deno.readTextFile(new URL(`../${name}/README.md`, import.meta.url));
}

function gatewayYaml(text: string): { path: string; config: Record<string, unknown> } {
  const yaml = /```yaml\n([\s\S]*?)```/.exec(text);
  assert.ok(yaml, "the README has a gateway.yaml example");
  const entry = parse(yaml[1]!).plugins[0];
  return { path: entry.source.path, config: entry.config };
}

const call = {
  signal: new AbortController().signal,
  logger: createTestContext().logger,
  notify: () => {},
  id: 1,
};

/** The answer as the README shows it: the reservation id, which varies, as "…". */
function shown(answer: AcquireResult): AcquireResult {
  return answer.reservation === undefined ? answer : { ...answer, reservation: "…" };
}

Deno.test("README config table matches config.ts (regenerate with deno task docs)", async () => {
  assert.deepEqual(tableCells(await readme()), tableCells(configTable(configSchema)));
});

Deno.test("README's gateway.yaml is ratelimit-memory's with the path changed and a url added", async () => {
  const ours = gatewayYaml(await readme());
  const theirs = gatewayYaml(await readme("ratelimit-memory"));
  assert.equal(ours.path, theirs.path.replace("ratelimit-memory", "ratelimit-redis"));
  const { url, ...rest } = ours.config;
  assert.equal(url, "${secret:REDIS_URL}");
  assert.deepEqual(rest, theirs.config);
  // Any ratelimit-memory config, `sweep_every` included, is valid here once it has a url.
  configSchema.parse({ ...theirs.config, sweep_every: 10, url: "redis://127.0.0.1:6379" });
});

Deno.test("README's config gives the answers ratelimit-memory's README shows, against a real Redis", async () => {
  const redis = await startRedis();
  try {
    const { config } = gatewayYaml(await readme());
    let now = Date.parse("2026-11-27T12:00:30Z");
    const instance = await plugin.create(
      configSchema.parse({
        ...config,
        url: redis.url,
        clock: "plugin",
        prefix: `readme${crypto.randomUUID()}:`,
      }),
      createTestContext({ now: () => now }),
    );
    const text = await readme("ratelimit-memory");
    const answers = [...text.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]!));
    assert.equal(answers.length, 2, "ratelimit-memory's README shows two answers");
    const params = { subject: "alice", tenant: "acme", model: "o3-mini", estimated_tokens: 1200 };
    const limiter = instance.rate_limiter!;
    assert.deepEqual(shown(await limiter.acquire(params, call)), answers[0]);
    for (let i = 0; i < 4; i++) assert.equal((await limiter.acquire(params, call)).allowed, true);
    now = Date.parse("2026-11-27T12:00:45Z");
    assert.deepEqual(shown(await limiter.acquire(params, call)), answers[1]);
    await instance.close!();
  } finally {
    await redis.close();
  }
});
