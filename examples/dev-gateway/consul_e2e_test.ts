/**
 * End to end with router-consul: the README's gateway.yaml snippet, a fake Consul that lists
 * one OpenAI-compatible instance, and the gateway as a process; the request is served by the
 * instance found in Consul, under the model name its meta maps to.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parse, stringify } from "yaml";
import OpenAI from "openai";
import { startFakeConsul, startFakeOpenAI } from "@vulpes/contract/testing";
import { ROOT, startGatewayProcess, tempDir, writeConfig } from "./testdata/harness.ts";

interface PluginEntry {
  source: { path: string };
  config: { address?: string; allowed_base_urls?: string[] };
}

Deno.test("router-consul routes a request to an instance found in Consul", async () => {
  const token = "e2e-consul-token-123";
  await using consul = await startFakeConsul({ token });
  await using instance = await startFakeOpenAI();
  await using dir = await tempDir();
  const port = Number(new URL(instance.url).port);
  consul.register("vllm", {
    Service: {
      ID: "vllm-e2e",
      Port: port,
      Address: "127.0.0.1",
      Tags: ["openai"],
      Meta: { models: "llama-3.1-8b=gpt-4o-mini" },
    },
  });
  const readme = Deno.readTextFileSync(`${ROOT}/plugins/router-consul/README.md`);
  const doc = parse(/```yaml\n([\s\S]*?)```/.exec(readme)![1]!) as { plugins: PluginEntry[] };
  const [router, upstream] = doc.plugins as [PluginEntry, PluginEntry];
  router.source.path = `${ROOT}/${router.source.path}`;
  upstream.source.path = `${ROOT}/${upstream.source.path}`;
  router.config.address = consul.url;
  upstream.config.allowed_base_urls = [`http://127.0.0.1:${port}/v1`];
  const gateway = await startGatewayProcess(writeConfig(dir.path, stringify(doc)), {
    CONSUL_HTTP_TOKEN: token,
  });
  try {
    const client = new OpenAI({ apiKey: "x", baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    // Under load the first blocking query may answer after the gateway is up: wait for it.
    const deadline = Date.now() + 20_000;
    while (!(await client.models.list()).data.some((m) => m.id === "llama-3.1-8b")) {
      assert.ok(Date.now() < deadline, "the instance never appeared in /v1/models");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const answer = await client.chat.completions.create({
      model: "llama-3.1-8b",
      messages: [{ role: "user", content: "Hello" }],
    });
    assert.equal(answer.choices[0]?.message.content, "Echo: Hello");
    const sent = instance.requests.filter((r) => r.path === "/v1/chat/completions");
    assert.equal(sent.length, 1, "the instance from Consul served it");
    assert.equal((sent[0]!.body as { model: string }).model, "gpt-4o-mini");
    const models = (await client.models.list()).data.map((m) => m.id);
    assert.ok(models.includes("llama-3.1-8b"), models.join());
    assert.ok(!gateway.stderr().includes(token), "the ACL token never reaches the log");
  } finally {
    await gateway.stop();
  }
});
