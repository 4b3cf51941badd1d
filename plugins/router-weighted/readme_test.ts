import assert from "node:assert/strict";
import { createTestCall, createTestContext } from "@vulpes/contract/testing";
import { configTable, tableCells } from "../../scripts/_config_table.ts";
import {
  assertConfigTable,
  exampleConfig,
  markedTable,
  readmeOf,
} from "../../scripts/_readme_checks.ts";
import { configSchema, modelSchema } from "./config.ts";
import { plugin } from "./mod.ts";

/** The model table as config.ts gives it, each field under `models.<model>.`. */
function expectedModelTable(): string[][] {
  return tableCells(configTable(modelSchema)).map((row, index) =>
    index === 0 ? row : [row[0]!.replace(/^`/, "`models.<model>."), ...row.slice(1)]
  );
}

Deno.test("README config table matches config.ts (regenerate with deno task docs)", async () => {
  assertConfigTable(await readmeOf(import.meta.url), configSchema);
});

Deno.test("README model table matches modelSchema in config.ts", async () => {
  const table = markedTable(await readmeOf(import.meta.url), "model-table");
  const expected = expectedModelTable();
  assert.deepEqual(
    table,
    expected,
    `expected, before deno fmt:\n${expected.map((row) => `| ${row.join(" | ")} |`).join("\n")}`,
  );
});

Deno.test("README's gateway.yaml config is valid and gives the not_found message it shows", async () => {
  const readme = await readmeOf(import.meta.url);
  const config = exampleConfig(readme);
  const instance = await plugin.create(configSchema.parse(config), createTestContext());
  const shown = /`(Model "([^"]+)" is not served; [^`]*)`/.exec(readme.text);
  assert.ok(shown, "the README shows a not_found message");
  const call = createTestCall();
  await assert.rejects(
    async () =>
      await instance.router!.route({
        model: shown[2]!,
        identity: { groups: [] },
        request: { stream: false, estimated_tokens: 1 },
      }, call),
    { message: shown[1] },
  );
});
