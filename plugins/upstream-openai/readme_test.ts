import assert from "node:assert/strict";
import { configTable, tableCells } from "../../scripts/_config_table.ts";
import { configSchema } from "./config.ts";

Deno.test("README config table matches config.ts (regenerate with deno task docs)", async () => {
  const readme = await Deno.readTextFile(new URL("./README.md", import.meta.url));
  assert.deepEqual(tableCells(readme), tableCells(configTable(configSchema)));
});
