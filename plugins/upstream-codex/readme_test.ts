import assert from "node:assert/strict";
import { parse } from "yaml";
import { configTable, tableCells } from "../../scripts/_config_table.ts";
import { UNSUPPORTED } from "./_request.ts";
import { configSchema } from "./config.ts";

const README = new URL("./README.md", import.meta.url);

Deno.test("README config table matches config.ts (regenerate with deno task docs)", async () => {
  const readme = await Deno.readTextFile(README);
  assert.deepEqual(tableCells(readme), tableCells(configTable(configSchema)));
});

Deno.test("README's mapping table names every field the plugin refuses", async () => {
  const readme = await Deno.readTextFile(README);
  const row = readme.split("\n").find((line) => line.includes("refused with `bad_request`"));
  assert.ok(row, "the request mapping has a row for refused fields");
  for (const field of Object.keys(UNSUPPORTED)) {
    assert.ok(readme.includes(`\`${field}\``), `README names "${field}"`);
  }
});

Deno.test("README's gateway.yaml config is valid for config.ts", async () => {
  const readme = await Deno.readTextFile(README);
  const yaml = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(yaml, "the README has a gateway.yaml snippet");
  const entry = parse(yaml.replaceAll(/\$\{secret:\w+\}/g, "sk-resolved-by-the-core")).plugins[0];
  assert.equal(entry.source.path, "bin/upstream-codex");
  assert.deepEqual(entry.capabilities, ["upstream_provider"]);
  const config = configSchema.parse(entry.config);
  assert.equal(config.store, false);
});
