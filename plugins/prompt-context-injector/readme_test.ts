import assert from "node:assert/strict";
import { createTestCall } from "@vulpes/contract/testing";
import {
  assertConfigTable,
  exampleConfigEntry,
  exampleInstance,
  markedExample,
  readmeOf,
} from "../../scripts/_readme_checks.ts";
import { configSchema } from "./config.ts";
import { plugin } from "./mod.ts";

const call = createTestCall();

Deno.test("README config table matches config.ts (regenerate with deno task docs)", async () => {
  assertConfigTable(await readmeOf(import.meta.url), configSchema);
});

Deno.test("README's gateway.yaml config gives the answer the README shows, twice over", async () => {
  const readme = await readmeOf(import.meta.url);
  const entry = exampleConfigEntry(readme);
  assert.equal(entry.source.path, "bin/prompt-context-injector");
  assert.deepEqual(entry.capabilities, ["prompt_provider"]);
  const instance = await exampleInstance(readme, plugin, configSchema);
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
  const instance = await exampleInstance(readme, plugin, configSchema);
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
