import assert from "node:assert/strict";
import { parse } from "yaml";
import { createTestContext } from "@vulpes/contract/testing";
import { configTable, tableCells } from "../../scripts/_config_table.ts";
import { configSchema } from "./config.ts";
import { plugin } from "./mod.ts";

async function readme(): Promise<string> {
  return await Deno.readTextFile(new URL("./README.md", import.meta.url));
}

/** The fenced block right after `<!-- example:<name> -->`. */
function example(text: string, name: string): string {
  const match = new RegExp(`<!-- example:${name} -->\\s*\`\`\`\\w+\\n([\\s\\S]*?)\`\`\``).exec(
    text,
  );
  assert.ok(match, `the README has the example "${name}"`);
  return match[1]!;
}

Deno.test("README config table matches config.ts (regenerate with deno task docs)", async () => {
  assert.deepEqual(tableCells(await readme()), tableCells(configTable(configSchema)));
});

Deno.test("README's gateway.yaml config gives the answer the README shows, twice over", async () => {
  const text = await readme();
  const entry = parse(example(text, "config")).plugins[0];
  assert.equal(entry.source.path, "bin/prompt-context-injector");
  assert.deepEqual(entry.capabilities, ["prompt_provider"]);
  const instance = await plugin.create(configSchema.parse(entry.config), createTestContext());
  const call = {
    signal: new AbortController().signal,
    logger: createTestContext().logger,
    notify: () => {},
    id: 1,
  };
  const params = JSON.parse(example(text, "params"));
  const result = await instance.prompt_provider!.resolve(params, call);
  assert.deepEqual(result, JSON.parse(example(text, "result")));
  const again = await instance.prompt_provider!.resolve(
    { ...params, messages: result.messages },
    call,
  );
  assert.deepEqual(again, result);
});

Deno.test("README's error messages are the plugin's", async () => {
  const text = await readme();
  const entry = parse(example(text, "config")).plugins[0];
  const instance = await plugin.create(configSchema.parse(entry.config), createTestContext());
  const call = {
    signal: new AbortController().signal,
    logger: createTestContext().logger,
    notify: () => {},
    id: 1,
  };
  const params = JSON.parse(example(text, "params"));
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
    assert.ok(text.includes(error.message), `the README shows: ${error.message}`);
  }
});
