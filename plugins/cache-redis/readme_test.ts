import assert from "node:assert/strict";
import { parse } from "yaml";
import { check } from "@vulpes/contract/capabilities";
import {
  assertConfigTable,
  assertValidConfig,
  exampleConfig,
  exampleEntry,
  fencedBlocks,
  readmeOf,
  resolveSecrets,
} from "../../scripts/_readme_checks.ts";
import { configSchema } from "./config.ts";

/** Stands in for the core: a URL for `${secret:…_URL}`, some text for other secrets. */
function secretValue(name: string): string {
  return name.endsWith("REDISS_URL")
    ? "rediss://redis.internal:6380"
    : name.endsWith("_URL")
    ? "redis://:pw@redis.internal:6379"
    : "resolved-secret";
}

Deno.test("README config table matches config.ts (regenerate with deno task docs)", async () => {
  assertConfigTable(await readmeOf(import.meta.url), configSchema);
});

Deno.test("README's gateway.yaml entry and config blocks are valid configs", async () => {
  const readme = await readmeOf(import.meta.url);
  const entry = exampleEntry(readme, 0, { resolveSecret: secretValue });
  assert.equal(entry.source.path, "bin/cache-redis");
  assert.deepEqual(entry.capabilities, ["cache_provider"]);
  assert.equal(entry.fail_mode, "open");
  assert.match(String(exampleConfig(readme).url), /^\$\{secret:[A-Z_]+\}$/);
  const configs = fencedBlocks(readme, "yaml").slice(1).map((block) =>
    parse(resolveSecrets(block, secretValue))
  );
  const checked = [entry.config, ...configs];
  assert.equal(checked.length, 4);
  for (const config of checked) assertValidConfig(readme, configSchema, config);
});

Deno.test("README quotes the config error for a max_ttl_ms below the default time to live", async () => {
  const result = check(configSchema, { url: "redis://h", max_ttl_ms: 60_000 });
  assert.ok(!result.ok);
  const readme = await readmeOf(import.meta.url);
  assert.ok(readme.text.includes(`\`${result.issues[0]!.message}\``));
});

Deno.test("README's permissions match the deno.json build task", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  const task: string = config.tasks["build:cache-redis"];
  const flags = task.split(/\s+/).filter((word) => word.startsWith("--allow-"));
  assert.deepEqual(flags, ["--allow-net"]);
  assert.ok((await readmeOf(import.meta.url)).text.includes("`--allow-net` only"));
});
