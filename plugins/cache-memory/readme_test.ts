import assert from "node:assert/strict";
import { parse } from "yaml";
import { check } from "@vulpes/contract/capabilities";
import { configTable, tableCells } from "../../scripts/_config_table.ts";
import { configSchema } from "./config.ts";

async function readme(): Promise<string> {
  return await Deno.readTextFile(new URL("./README.md", import.meta.url));
}

Deno.test("README config table matches config.ts (regenerate with deno task docs)", async () => {
  assert.deepEqual(tableCells(await readme()), tableCells(configTable(configSchema)));
});

Deno.test("README's gateway.yaml config is valid", async () => {
  const yaml = /```yaml\n([\s\S]*?)```/.exec(await readme());
  assert.ok(yaml, "the README has a gateway.yaml example");
  const entry = parse(yaml[1]!).plugins[0];
  assert.equal(entry.source.path, "bin/cache-memory");
  assert.deepEqual(entry.capabilities, ["cache_provider"]);
  const result = check(configSchema, entry.config);
  assert.ok(result.ok, JSON.stringify(result));
});

Deno.test("README quotes the config error for a max_ttl_ms below the default time to live", async () => {
  const result = check(configSchema, { max_ttl_ms: 60_000 });
  assert.ok(!result.ok);
  assert.ok((await readme()).includes(`\`${result.issues[0]!.message}\``));
});
