import assert from "node:assert/strict";
import { check } from "@vulpes/contract/capabilities";
import {
  assertConfigTable,
  assertValidConfig,
  exampleEntry,
  readmeOf,
} from "../../scripts/_readme_checks.ts";
import { configSchema } from "./config.ts";

Deno.test("README config table matches config.ts (regenerate with deno task docs)", async () => {
  assertConfigTable(await readmeOf(import.meta.url), configSchema);
});

Deno.test("README's gateway.yaml config is valid", async () => {
  const readme = await readmeOf(import.meta.url);
  const entry = exampleEntry(readme);
  assert.equal(entry.source.path, "bin/cache-memory");
  assert.deepEqual(entry.capabilities, ["cache_provider"]);
  assertValidConfig(readme, configSchema, entry.config);
});

Deno.test("README quotes the config error for a max_ttl_ms below the default time to live", async () => {
  const result = check(configSchema, { max_ttl_ms: 60_000 });
  assert.ok(!result.ok);
  const readme = await readmeOf(import.meta.url);
  assert.ok(readme.text.includes(`\`${result.issues[0]!.message}\``));
});
