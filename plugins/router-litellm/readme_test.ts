import assert from "node:assert/strict";
import { createTestCall, createTestContext } from "@vulpes/contract/testing";
import { tableCells } from "../../scripts/_config_table.ts";
import { assertConfigTable, exampleConfig, readmeOf } from "../../scripts/_readme_checks.ts";
import { configSchema } from "./config.ts";
import { plugin } from "./mod.ts";

const call = createTestCall();

Deno.test("README config table matches config.ts (regenerate with deno task docs)", async () => {
  assertConfigTable(await readmeOf(import.meta.url), configSchema);
});

Deno.test("README's LiteLLM table names every top-level option of config.ts", async () => {
  const { text } = await readmeOf(import.meta.url);
  const start = text.indexOf("## LiteLLM Router options");
  const end = text.indexOf("## Config");
  assert.ok(start !== -1 && end > start, "the README has the LiteLLM section");
  const rows = tableCells(text.slice(start, end)).slice(1);
  for (const key of Object.keys(configSchema.shape)) {
    if (key === "model_list" || key === "owned_by") continue; // model_list: the rows of its fields
    const named = rows.some(([litellm, here]) =>
      here!.includes(`\`${key}\``) || (/^same/.test(here!) && litellm!.includes(`\`${key}\``))
    );
    assert.ok(named, `${key} has a row`);
  }
});

Deno.test("README's gateway.yaml config is valid and gives the not_found message it shows", async () => {
  const readme = await readmeOf(import.meta.url);
  const config = exampleConfig(readme);
  const instance = await plugin.create(configSchema.parse(config), createTestContext());
  const shown = /`(Model "([^"]+)" is not served; [^`]*)`/.exec(readme.text);
  assert.ok(shown, "the README shows a not_found message");
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
