import assert from "node:assert/strict";
import type { AcquireResult } from "@vulpes/contract/capabilities";
import { createTestCall, createTestContext, startRedis } from "@vulpes/contract/testing";
import {
  assertConfigTable,
  exampleConfig,
  exampleEntry,
  fencedBlocks,
  readmeOf,
} from "../../scripts/_readme_checks.ts";
import { configSchema } from "./config.ts";
import { plugin } from "./mod.ts";

/** The README of ratelimit-memory, whose example this plugin's README follows. */
const memoryReadme = () => readmeOf(new URL("../ratelimit-memory/", import.meta.url));

const call = createTestCall();

/** The answer as the README shows it: the reservation id, which varies, as "…". */
function shown(answer: AcquireResult): AcquireResult {
  return answer.reservation === undefined ? answer : { ...answer, reservation: "…" };
}

Deno.test("README config table matches config.ts (regenerate with deno task docs)", async () => {
  assertConfigTable(await readmeOf(import.meta.url), configSchema);
});

Deno.test("README's gateway.yaml is ratelimit-memory's with the path changed and a url added", async () => {
  const ours = exampleEntry(await readmeOf(import.meta.url));
  const theirs = exampleEntry(await memoryReadme());
  assert.equal(ours.source.path, theirs.source.path.replace("ratelimit-memory", "ratelimit-redis"));
  const { url, ...rest } = ours.config;
  assert.equal(url, "${secret:REDIS_URL}");
  assert.deepEqual(rest, theirs.config);
  // Any ratelimit-memory config, `sweep_every` included, is valid here once it has a url.
  configSchema.parse({ ...theirs.config, sweep_every: 10, url: "redis://127.0.0.1:6379" });
});

Deno.test("README's config gives the answers ratelimit-memory's README shows, against a real Redis", async () => {
  const redis = await startRedis();
  try {
    const config = exampleConfig(await readmeOf(import.meta.url));
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
    const answers = fencedBlocks(await memoryReadme(), "json").map((block) => JSON.parse(block));
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
