import assert from "node:assert/strict";
import { configTable, tableCells } from "../../scripts/_config_table.ts";
import { configSchema } from "./config.ts";
import { MIGRATIONS } from "./_migrate.ts";

const readme = () => Deno.readTextFile(new URL("./README.md", import.meta.url));

Deno.test("README config table matches config.ts (regenerate with deno task docs)", async () => {
  assert.deepEqual(tableCells(await readme()), tableCells(configTable(configSchema)));
});

Deno.test("README shows the SQL of migration 001 as shipped (comments aside)", async () => {
  const shown = /```sql\n([\s\S]*?)```/.exec(await readme())?.[1];
  assert.ok(shown, "the README has an sql block");
  const code = (sql: string) =>
    sql.split("\n").filter((line) => !line.startsWith("--") && line.trim() !== "").join("\n");
  assert.equal(code(shown), code(MIGRATIONS[0]!.sql));
});

Deno.test("README's permissions match the deno.json build task", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  const task: string = config.tasks["build:authn-postgres-api-key"];
  const env = /--allow-env=(\S+)/.exec(task)?.[1];
  assert.ok(env && task.includes("--allow-net "));
  assert.ok((await readme()).includes(`--allow-env=${env}`));
});
