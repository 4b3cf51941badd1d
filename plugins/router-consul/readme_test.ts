import assert from "node:assert/strict";
import { createTestCall, createTestContext, startFakeConsul } from "@vulpes/contract/testing";
import { assertConfigTable, readmeOf, yamlExample } from "../../scripts/_readme_checks.ts";
import { parseModels } from "./_consul.ts";
import { configSchema } from "./config.ts";
import { plugin } from "./mod.ts";

Deno.test("README config table matches config.ts (regenerate with deno task docs)", async () => {
  assertConfigTable(await readmeOf(import.meta.url), configSchema);
});

Deno.test("README's gateway.yaml pairs router-consul with an upstream that allows its base URLs", async () => {
  const [router, upstream] = yamlExample(await readmeOf(import.meta.url)).plugins;
  assert.deepEqual(router!.source, { type: "filesystem", path: "bin/router-consul" });
  assert.deepEqual(router!.capabilities, ["router"]);
  assert.deepEqual(upstream!.source, { type: "filesystem", path: "bin/upstream-openai" });
  assert.deepEqual(upstream!.capabilities, ["upstream_provider"]);
  assert.equal(router!.config.token, "${secret:CONSUL_HTTP_TOKEN}");
  const config = configSchema.parse(router!.config);
  assert.equal(config.upstream, upstream!.name);
  const allowed = upstream!.config.allowed_base_urls as string[];
  const { scheme, path_prefix } = config;
  for (const address of ["10.0.3.7", "10.0.3.250"]) {
    const baseUrl = `${scheme}://${address}:8000${path_prefix}`;
    assert.ok(allowed.some((prefix) => baseUrl.startsWith(prefix)), baseUrl);
  }
  assert.ok(
    allowed.some((prefix) => `${scheme}://127.0.0.1:8000${path_prefix}`.startsWith(prefix)),
  );
  assert.ok(!allowed.some((prefix) => "http://10.0.30.1:8000/v1".startsWith(prefix)));
});

Deno.test("README shows the not_found message the plugin gives", async () => {
  const { text } = await readmeOf(import.meta.url);
  const shown = /`(Model "([^"]+)" is not served; served models: ([^`]*))`/.exec(text);
  assert.ok(shown, "the README shows a not_found message");
  await using consul = await startFakeConsul();
  consul.register("vllm", { Service: { ID: "a", Port: 8000, Meta: { models: shown[3]! } } });
  const instance = await plugin.create(
    configSchema.parse({ address: consul.url, services: ["vllm"], upstream: "u" }),
    createTestContext({ fetch: globalThis.fetch, now: Date.now }),
  );
  const call = createTestCall();
  try {
    await assert.rejects(
      async () =>
        await instance.router!.route({
          model: shown[2]!,
          identity: { groups: [] },
          request: { stream: false, estimated_tokens: 1 },
        }, call),
      { message: shown[1] },
    );
  } finally {
    await instance.close!();
  }
});

Deno.test("README's models meta examples parse as the table says", () => {
  const mapped = parseModels("llama-3.1-8b=meta-llama/Llama-3.1-8B-Instruct, llama-3");
  assert.deepEqual([...mapped.models], [
    ["llama-3.1-8b", "meta-llama/Llama-3.1-8B-Instruct"],
    ["llama-3", "llama-3"],
  ]);
  assert.deepEqual([...parseModels("gpt-4o, gpt-4o-mini").models.keys()], [
    "gpt-4o",
    "gpt-4o-mini",
  ]);
  assert.equal(parseModels("*").any, true);
  assert.equal(parseModels("").models.size + Number(parseModels("").any), 0);
});
