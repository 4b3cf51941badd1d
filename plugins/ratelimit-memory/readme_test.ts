import assert from "node:assert/strict";
import type { AcquireResult } from "@vulpes/contract/capabilities";
import { createTestCall, createTestContext } from "@vulpes/contract/testing";
import {
  assertConfigTable,
  exampleConfig,
  fencedBlocks,
  readmeOf,
} from "../../scripts/_readme_checks.ts";
import { configSchema } from "./config.ts";
import { plugin } from "./mod.ts";

const call = createTestCall();

/** The answer as the README shows it: the reservation id, which varies, as "…". */
function shown(answer: AcquireResult): AcquireResult {
  return answer.reservation === undefined ? answer : { ...answer, reservation: "…" };
}

Deno.test("README config table matches config.ts (regenerate with deno task docs)", async () => {
  assertConfigTable(await readmeOf(import.meta.url), configSchema);
});

Deno.test("README's gateway.yaml config is valid and gives the answers it shows", async () => {
  const readme = await readmeOf(import.meta.url);
  const config = exampleConfig(readme);
  let now = Date.parse("2026-11-27T12:00:30Z");
  const instance = await plugin.create(
    configSchema.parse(config),
    createTestContext({ now: () => now }),
  );
  const answers = fencedBlocks(readme, "json").map((block) => JSON.parse(block));
  assert.equal(answers.length, 2, "the README shows an admitted and a refused answer");
  const params = { subject: "alice", tenant: "acme", model: "o3-mini", estimated_tokens: 1200 };
  const limiter = instance.rate_limiter!;
  assert.deepEqual(shown(await limiter.acquire(params, call)), answers[0]);
  for (let i = 0; i < 4; i++) assert.equal((await limiter.acquire(params, call)).allowed, true);
  now = Date.parse("2026-11-27T12:00:45Z");
  assert.deepEqual(shown(await limiter.acquire(params, call)), answers[1]);
});
