/**
 * Content-policy fallbacks end to end: router-litellm marks the `content_policy_fallbacks`
 * routes `fallback_on: ["content_policy"]`; the gateway tries them only after the upstream
 * refused the content, never after another 400.
 *
 * @module
 */

import assert from "node:assert/strict";
import { startFakeOpenAI } from "@vulpes/contract/testing";
import { bin, startGatewayProcess, tempDir, writeConfig } from "./testdata/harness.ts";

Deno.test("a content-policy refusal falls back to the content_policy_fallbacks group, another 400 does not", async () => {
  await using strict = await startFakeOpenAI();
  await using lenient = await startFakeOpenAI();
  await using dir = await tempDir();
  const upstream = (name: string, url: string) => ({
    name,
    source: { type: "filesystem", path: bin("upstream-openai") },
    capabilities: ["upstream_provider"],
    config: { base_url: `${url}/v1` },
  });
  const file = writeConfig(dir.path, {
    server: { listen: "127.0.0.1:0" },
    plugins: [
      {
        name: "router",
        source: { type: "filesystem", path: bin("router-litellm") },
        capabilities: ["router"],
        config: {
          num_retries: 0,
          model_list: [
            { model_name: "gpt-4o", upstream: "strict", model: "gpt-4o" },
            { model_name: "lenient", upstream: "lenient", model: "lenient-model" },
          ],
          content_policy_fallbacks: [{ "gpt-4o": ["lenient"] }],
        },
      },
      upstream("strict", strict.url),
      upstream("lenient", lenient.url),
    ],
  });
  const gateway = await startGatewayProcess(file);
  const ask = () =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "edgy" }] }),
    });
  try {
    strict.enqueue("/v1/chat/completions", {
      status: 400,
      body: {
        error: {
          message: "Refused by policy",
          type: "invalid_request_error",
          param: null,
          code: "content_policy_violation",
        },
      },
    });
    const fallen = await ask();
    assert.equal(fallen.status, 200, await fallen.clone().text());
    assert.equal(fallen.headers.get("x-vulpes-upstream"), "lenient");
    assert.equal((await fallen.json()).choices[0].message.content, "Echo: edgy");
    assert.equal((lenient.requests.at(-1)!.body as { model: string }).model, "lenient-model");

    strict.enqueue("/v1/chat/completions", {
      status: 400,
      body: {
        error: {
          message: "temperature is too high",
          type: "invalid_request_error",
          param: "temperature",
          code: null,
        },
      },
    });
    const refused = await ask();
    assert.equal(refused.status, 400);
    assert.match((await refused.json()).error.message, /temperature is too high/);
    assert.equal(lenient.requests.length, 1, "a plain 400 does not reach the content-policy route");

    const normal = await ask();
    assert.equal(normal.headers.get("x-vulpes-upstream"), "strict");
    await normal.body?.cancel();
    assert.equal(lenient.requests.length, 1, "a success never reaches it either");
  } finally {
    await gateway.stop();
  }
});

Deno.test("request tags reach the router and select the tagged deployments; they never go upstream", async () => {
  await using free = await startFakeOpenAI();
  await using paid = await startFakeOpenAI();
  await using dir = await tempDir();
  const upstream = (name: string, url: string) => ({
    name,
    source: { type: "filesystem", path: bin("upstream-openai") },
    capabilities: ["upstream_provider"],
    config: { base_url: `${url}/v1` },
  });
  const file = writeConfig(dir.path, {
    server: { listen: "127.0.0.1:0" },
    plugins: [
      {
        name: "router",
        source: { type: "filesystem", path: bin("router-litellm") },
        capabilities: ["router"],
        config: {
          num_retries: 0,
          enable_tag_filtering: true,
          model_list: [
            { model_name: "gpt-4o", upstream: "free", model: "gpt-4o", tags: ["free"] },
            { model_name: "gpt-4o", upstream: "paid", model: "gpt-4o", tags: ["paid"] },
          ],
        },
      },
      upstream("free", free.url),
      upstream("paid", paid.url),
    ],
  });
  const gateway = await startGatewayProcess(file);
  const ask = (tags: unknown) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o", tags, messages: [{ role: "user", content: "hi" }] }),
    });
  try {
    for (let i = 0; i < 5; i++) {
      const answer = await ask(["paid"]);
      assert.equal(answer.headers.get("x-vulpes-upstream"), "paid");
      await answer.body?.cancel();
    }
    assert.equal(free.requests.length, 0);
    assert.equal((paid.requests[0]!.body as Record<string, unknown>).tags, undefined);
    const bad = await ask("paid");
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).error.message, /"tags" must be an array/);
  } finally {
    await gateway.stop();
  }
});
