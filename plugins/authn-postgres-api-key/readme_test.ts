import assert from "node:assert/strict";
import { assertConfigTable, firstFencedBlock, readmeOf } from "../../scripts/_readme_checks.ts";
import { configSchema } from "./config.ts";
import { MIGRATIONS } from "./_migrate.ts";

Deno.test("README config table matches config.ts (regenerate with deno task docs)", async () => {
  assertConfigTable(await readmeOf(import.meta.url), configSchema);
});

Deno.test("README shows the SQL of migration 001 as shipped (comments aside)", async () => {
  const readme = await readmeOf(import.meta.url);
  const shown = firstFencedBlock(readme, "sql", "the SQL of migration 001");
  const code = (sql: string) =>
    sql.split("\n").filter((line) => !line.startsWith("--") && line.trim() !== "").join("\n");
  assert.equal(code(shown), code(MIGRATIONS[0]!.sql));
});

Deno.test("README's permissions match the deno.json build task", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  const task: string = config.tasks["build:authn-postgres-api-key"];
  const env = /--allow-env=(\S+)/.exec(task)?.[1];
  assert.ok(env && task.includes("--allow-net "));
  assert.ok((await readmeOf(import.meta.url)).text.includes(`--allow-env=${env}`));
});
