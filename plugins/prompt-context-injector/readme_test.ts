import assert from "node:assert/strict";
import { parse } from "yaml";
import type { PluginInstance } from "@vulpes/contract/plugin";
import { createTestCall, createTestContext } from "@vulpes/contract/testing";
import {
  assertConfigTable,
  markedExample,
  type Readme,
  readmeOf,
} from "../../scripts/_readme_checks.ts";
import { configSchema } from "./config.ts";
import { plugin } from "./mod.ts";

const call = createTestCall();

/** The plugin made from the README's `<!-- example:config -->` gateway.yaml. */
async function exampleInstance(readme: Readme): Promise<PluginInstance> {
  const entry = parse(markedExample(readme, "config")).plugins[0];
  return await plugin.create(configSchema.parse(entry.config), createTestContext());
}

Deno.test("README config table matches config.ts (regenerate with deno task docs)", async () => {
  assertConfigTable(await readmeOf(import.meta.url), configSchema);
});

Deno.test("README's gateway.yaml config gives the answer the README shows, twice over", async () => {
  const readme = await readmeOf(import.meta.url);
  const entry = parse(markedExample(readme, "config")).plugins[0];
  assert.equal(entry.source.path, "bin/prompt-context-injector");
  assert.deepEqual(entry.capabilities, ["prompt_provider"]);
  const instance = await exampleInstance(readme);
  const params = JSON.parse(markedExample(readme, "params"));
  const result = await instance.prompt_provider!.resolve(params, call);
  assert.deepEqual(result, JSON.parse(markedExample(readme, "result")));
  const again = await instance.prompt_provider!.resolve(
    { ...params, messages: result.messages },
    call,
  );
  assert.deepEqual(again, result);
});

Deno.test("README's error messages are the plugin's", async () => {
  const readme = await readmeOf(import.meta.url);
  const instance = await exampleInstance(readme);
  const params = JSON.parse(markedExample(readme, "params"));
  for (
    const [context, pattern] of [[42, /expected a string or a list of strings/], [
      "shipping",
      /names "shipping"/,
    ]] as const
  ) {
    const error = await Promise.resolve()
      .then(() =>
        instance.prompt_provider!.resolve(
          { ...params, prompt: { id: "support", variables: { context } } },
          call,
        )
      )
      .then(() => null, (e: Error) => e);
    assert.ok(error, String(context));
    assert.match(error.message, pattern);
    assert.ok(readme.text.includes(error.message), `the README shows: ${error.message}`);
  }
});
