import assert from "node:assert/strict";
import type { PromptResolveParams } from "@vulpes/contract/capabilities";
import type { PluginInstance } from "@vulpes/contract/plugin";
import { createTestCall } from "@vulpes/contract/testing";
import {
  assertConfigTable,
  exampleConfigEntry,
  exampleInstance,
  markedExample,
  type Readme,
  readmeOf,
} from "../../scripts/_readme_checks.ts";
import { configSchema } from "./config.ts";
import { plugin } from "./mod.ts";

const call = createTestCall();

/** The plugin made from the README's `<!-- example:config -->` gateway.yaml, checked first. */
async function checkedInstance(readme: Readme): Promise<PluginInstance> {
  const entry = exampleConfigEntry(readme);
  assert.equal(entry.source.path, "bin/prompt-template-registry");
  assert.deepEqual(entry.capabilities, ["prompt_provider"]);
  return await exampleInstance(readme, plugin, configSchema);
}

Deno.test("README config table matches config.ts (regenerate with deno task docs)", async () => {
  assertConfigTable(await readmeOf(import.meta.url), configSchema);
});

Deno.test("README's gateway.yaml config renders the messages the README shows", async () => {
  const readme = await readmeOf(import.meta.url);
  const instance = await checkedInstance(readme);
  const params = JSON.parse(markedExample(readme, "params"));
  const result = await instance.prompt_provider!.resolve(params, call);
  assert.deepEqual(result, JSON.parse(markedExample(readme, "result")));
});

Deno.test("README's error messages are the plugin's, for the example config", async () => {
  const readme = await readmeOf(import.meta.url);
  const instance = await checkedInstance(readme);
  const base = JSON.parse(markedExample(readme, "params")) as PromptResolveParams;
  const variables = base.prompt!.variables!;
  const requests: PromptResolveParams[] = [
    { ...base, prompt: { id: "sales-bot" } },
    { ...base, prompt: { id: "support-bot", version: "4" } },
    { ...base, prompt: { id: "support-bot", variables: { customer: "Dana" } } },
    { ...base, prompt: { id: "support-bot", variables: { ...variables, colour: "red" } } },
    { ...base, model: "o3-mini", prompt: { id: "support-bot", variables } },
  ];
  for (const request of requests) {
    const error = await Promise.resolve()
      .then(() => instance.prompt_provider!.resolve(request, call))
      .then(() => null, (e: Error) => e);
    assert.ok(error, JSON.stringify(request.prompt));
    assert.ok(readme.text.includes(`\`${error.message}\``), `the README shows: ${error.message}`);
  }
});

Deno.test("README's template error examples are the config check's", async () => {
  const readme = await readmeOf(import.meta.url);
  const entry = exampleConfigEntry(readme);
  const v2 = entry.config.prompts["support-bot"].versions["2"];
  v2.messages.push({ role: "user", content: "{{#faq}} {{q}}" }, {
    role: "user",
    content: "{{prodcut}}",
  });
  const result = configSchema.safeParse(entry.config);
  assert.ok(!result.success);
  for (const issue of result.error.issues) {
    assert.ok(readme.text.includes(issue.message), `the README shows: ${issue.message}`);
  }
});
