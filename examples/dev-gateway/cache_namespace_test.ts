/**
 * Cache isolation, end to end: callers without a tenant share one cache namespace, which no
 * tenant can reach, not even one named "default".
 *
 * @module
 */

import assert from "node:assert/strict";
import { startFakeOpenAI } from "@vulpes/contract/testing";
import {
  bin,
  faultyLauncher,
  fixtureLauncher,
  type GatewayProcess,
  mockUpstream,
  startGatewayProcess,
  tempDir,
  writeConfig,
} from "./testdata/harness.ts";

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Ask the same question with a key; answer whether the cache served it. */
async function cacheState(gateway: GatewayProcess, key: string): Promise<string | null> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Which tenant am I?" }],
    }),
  });
  assert.equal(response.status, 200, await response.clone().text());
  await response.body?.cancel();
  return response.headers.get("x-vulpes-cache");
}

Deno.test('callers without a tenant never share cache entries with a tenant named "default"', async () => {
  await using fake = await startFakeOpenAI();
  await using dir = await tempDir();
  const keys = {
    "sk-default-1": { subject: "alice", tenant: "default" },
    "sk-default-2": { subject: "bob", tenant: "default" },
    "sk-none-1": { subject: "carol" },
    "sk-none-2": { subject: "dave" },
  };
  const file = writeConfig(dir.path, {
    plugins: [
      {
        name: "keys",
        source: { type: "filesystem", path: bin("authn-static-api-key") },
        capabilities: ["authenticator"],
        config: {
          keys: await Promise.all(
            Object.entries(keys).map(async ([key, who], i) => ({
              id: `k${i}`,
              sha256: await sha256(key),
              ...who,
            })),
          ),
        },
      },
      {
        name: "cache",
        source: { type: "filesystem", path: fixtureLauncher(dir.path) },
        capabilities: ["cache_provider"],
      },
      {
        name: "router",
        source: { type: "filesystem", path: faultyLauncher(dir.path) },
        capabilities: ["router"],
      },
      mockUpstream(fake.url),
    ],
  });
  const gateway = await startGatewayProcess(file);
  try {
    assert.equal(await cacheState(gateway, "sk-default-1"), "miss");
    assert.equal(await cacheState(gateway, "sk-default-2"), "hit", "one tenant shares its cache");
    assert.equal(await cacheState(gateway, "sk-none-1"), "miss", 'no tenant is not "default"');
    assert.equal(await cacheState(gateway, "sk-none-2"), "hit", "callers without one share");
    assert.equal(fake.requests.length, 2);
  } finally {
    const status = await gateway.stop();
    assert.equal(status.code, 0, gateway.stderr().slice(-2000));
  }
});
