import assert from "node:assert/strict";
import { parse } from "yaml";
import type { AcquireResult } from "@vulpes/contract/capabilities";
import { createTestContext } from "@vulpes/contract/testing";
import { configTable, tableCells } from "../../scripts/_config_table.ts";
import { configSchema } from "./config.ts";
import { plugin } from "./mod.ts";

async function readme(): Promise<string> {
  return await Deno.readTextFile(new URL("./README.md", import.meta.url));
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

Deno.test("README's gateway.yaml config is valid and gives the answers it shows", async () => {
  const text = await readme();
  const yaml = /```yaml\n([\s\S]*?)```/.exec(text);
  assert.ok(yaml, "the README has a gateway.yaml example");
  const config = parse(yaml[1]!).plugins[0].config;
  let now = Date.parse("2026-11-27T12:00:30Z");
  const instance = await plugin.create(
    configSchema.parse(config),
    createTestContext({ now: () => now }),
  );
  const answers = [...text.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]!));
  assert.equal(answers.length, 2, "the README shows an admitted and a refused answer");
  const params = { subject: "alice", tenant: "acme", model: "o3-mini", estimated_tokens: 1200 };
  const limiter = instance.rate_limiter!;
  assert.deepEqual(shown(await limiter.acquire(params, call)), answers[0]);
  for (let i = 0; i < 4; i++) assert.equal((await limiter.acquire(params, call)).allowed, true);
  now = Date.parse("2026-11-27T12:00:45Z");
  assert.deepEqual(shown(await limiter.acquire(params, call)), answers[1]);
});
