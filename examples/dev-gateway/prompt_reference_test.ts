import assert from "node:assert/strict";
import { startFakeOpenAI } from "@vulpes/contract/testing";
import {
  bin,
  mockUpstream,
  startGatewayProcess,
  tempDir,
  writeConfig,
} from "./testdata/harness.ts";

Deno.test("a prompt reference without any prompt provider gets a clear 400 and never goes upstream", async () => {
  await using fake = await startFakeOpenAI();
  await using dir = await tempDir();
  const file = writeConfig(dir.path, {
    server: { listen: "127.0.0.1:0" },
    plugins: [
      {
        name: "router",
        source: { type: "filesystem", path: bin("router-weighted") },
        capabilities: ["router"],
        config: { models: { "gpt-4o-mini": { targets: [{ upstream: "mock" }] } } },
      },
      mockUpstream(fake.url),
    ],
  });
  const gateway = await startGatewayProcess(file);
  try {
    const answer = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "gpt-4o-mini",
        prompt: { id: "support-bot" },
        messages: [{ role: "user", content: "hi" }],
      }),
    });
    assert.equal(answer.status, 400);
    const body = await answer.json();
    assert.equal(body.error.code, "no_prompt_provider");
    assert.match(body.error.message, /no prompt provider/);
    assert.equal(fake.requests.length, 0);
  } finally {
    await gateway.stop();
  }
});
