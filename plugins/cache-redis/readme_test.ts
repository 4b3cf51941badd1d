import assert from "node:assert/strict";
import { parse } from "yaml";
import { check } from "@vulpes/contract/capabilities";
import { configTable, tableCells } from "../../scripts/_config_table.ts";
import { configSchema } from "./config.ts";

async function readme(): Promise<string> {
  return await Deno.readTextFile(new URL("./README.md", import.meta.url));
}

/** Stands in for the core: a URL for `${secret:…_URL}`, some text for other secrets. */
function resolveSecrets(yaml: string): string {
  return yaml.replace(
    /\$\{secret:([A-Z_]+)\}/g,
    (_, name: string) =>
      name.endsWith("REDISS_URL")
        ? "rediss://redis.internal:6380"
        : name.endsWith("_URL")
        ? "redis://:pw@redis.internal:6379"
        : "resolved-secret",
  );
}

function yamlBlocks(text: string): string[] {
  return [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1]!);
}

Deno.test("README config table matches config.ts (regenerate with deno task docs)", async () => {
  assert.deepEqual(tableCells(await readme()), tableCells(configTable(configSchema)));
});

Deno.test("README's gateway.yaml entry and config blocks are valid configs", async () => {
  const [gateway, ...configs] = yamlBlocks(await readme());
  const entry = parse(resolveSecrets(gateway!)).plugins[0];
  assert.equal(entry.source.path, "bin/cache-redis");
  assert.deepEqual(entry.capabilities, ["cache_provider"]);
  assert.equal(entry.fail_mode, "open");
  assert.match(parse(gateway!).plugins[0].config.url, /^\$\{secret:[A-Z_]+\}$/);
  const checked = [entry.config, ...configs.map((block) => parse(resolveSecrets(block)))];
  assert.equal(checked.length, 4);
  for (const config of checked) {
    const result = check(configSchema, config);
    assert.ok(result.ok, JSON.stringify(result));
  }
});

Deno.test("README quotes the config error for a max_ttl_ms below the default time to live", async () => {
  const result = check(configSchema, { url: "redis://h", max_ttl_ms: 60_000 });
  assert.ok(!result.ok);
  assert.ok((await readme()).includes(`\`${result.issues[0]!.message}\``));
});

Deno.test("README's permissions match the deno.json build task", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  const task: string = config.tasks["build:cache-redis"];
  const flags = task.split(/\s+/).filter((word) => word.startsWith("--allow-"));
  assert.deepEqual(flags, ["--allow-net"]);
  assert.ok((await readme()).includes("`--allow-net` only"));
});
