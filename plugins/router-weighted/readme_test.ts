import assert from "node:assert/strict";
import { parse } from "yaml";
import { createTestContext } from "@vulpes/contract/testing";
import { configTable, tableCells } from "../../scripts/_config_table.ts";
import { configSchema, modelSchema } from "./config.ts";
import { plugin } from "./mod.ts";

const MODEL_TABLE_START = "<!-- model-table:start";
const MODEL_TABLE_END = "<!-- model-table:end -->";

async function readme(): Promise<string> {
  return await Deno.readTextFile(new URL("./README.md", import.meta.url));
}

/** The model table as config.ts gives it, each field under `models.<model>.`. */
function expectedModelTable(): string[][] {
  return tableCells(configTable(modelSchema)).map((row, index) =>
    index === 0 ? row : [row[0]!.replace(/^`/, "`models.<model>."), ...row.slice(1)]
  );
}

Deno.test("README config table matches config.ts (regenerate with deno task docs)", async () => {
  assert.deepEqual(tableCells(await readme()), tableCells(configTable(configSchema)));
});

Deno.test("README model table matches modelSchema in config.ts", async () => {
  const text = await readme();
  const start = text.indexOf(MODEL_TABLE_START);
  const end = text.indexOf(MODEL_TABLE_END);
  assert.ok(start !== -1 && end > start, "the README has the model-table markers");
  const expected = expectedModelTable();
  assert.deepEqual(
    tableCells(text.slice(start, end)),
    expected,
    `expected, before deno fmt:\n${expected.map((row) => `| ${row.join(" | ")} |`).join("\n")}`,
  );
});

Deno.test("README's gateway.yaml config is valid and gives the not_found message it shows", async () => {
  const text = await readme();
  const yaml = /```yaml\n([\s\S]*?)```/.exec(text);
  assert.ok(yaml, "the README has a gateway.yaml example");
  const config = parse(yaml[1]!).plugins[0].config;
  const instance = await plugin.create(configSchema.parse(config), createTestContext());
  const shown = /`(Model "([^"]+)" is not served; [^`]*)`/.exec(text);
  assert.ok(shown, "the README shows a not_found message");
  const call = {
    signal: new AbortController().signal,
    logger: createTestContext().logger,
    notify: () => {},
    id: 1,
  };
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
