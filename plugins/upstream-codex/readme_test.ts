import assert from "node:assert/strict";
import { assertConfigTable, exampleEntry, readmeOf } from "../../scripts/_readme_checks.ts";
import { UNSUPPORTED } from "./_request.ts";
import { configSchema } from "./config.ts";

Deno.test("README config table matches config.ts (regenerate with deno task docs)", async () => {
  assertConfigTable(await readmeOf(import.meta.url), configSchema);
});

Deno.test("README's mapping table names every field the plugin refuses", async () => {
  const { text } = await readmeOf(import.meta.url);
  const row = text.split("\n").find((line) => line.includes("refused with `bad_request`"));
  assert.ok(row, "the request mapping has a row for refused fields");
  for (const field of Object.keys(UNSUPPORTED)) {
    assert.ok(text.includes(`\`${field}\``), `README names "${field}"`);
  }
});

Deno.test("README's gateway.yaml config is valid for config.ts", async () => {
  const entry = exampleEntry(await readmeOf(import.meta.url), 0, {
    resolveSecret: () => "sk-resolved-by-the-core",
  });
  assert.equal(entry.source.path, "bin/upstream-codex");
  assert.deepEqual(entry.capabilities, ["upstream_provider"]);
  const config = configSchema.parse(entry.config);
  assert.equal(config.store, false);
});
