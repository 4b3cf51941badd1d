import assert from "node:assert/strict";
import fc from "fast-check";
import { authenticatorClient, checkHealth, PluginProcess } from "@vulpes/contract/host";
import {
  assertConfigRefused,
  assertConformant,
  pluginBinary,
  sha256Hex,
} from "../../tests/_support.ts";

const BINARY = pluginBinary("authn-static-api-key");
const DEMO_KEY = "sk-vulpes-demo";
const RAW_SECRET = "sk-process-test-raw-secret";

async function config() {
  return {
    keys: [
      {
        id: "demo",
        sha256: await sha256Hex(DEMO_KEY),
        subject: "demo",
        tenant: "demo",
        models: ["gpt-*"],
      },
      { id: "raw", key: RAW_SECRET, subject: "raw" },
    ],
  };
}

async function start(logs: Record<string, unknown>[] = []): Promise<PluginProcess> {
  return await PluginProcess.start({
    command: BINARY,
    instance: "keys",
    capabilities: ["authenticator"],
    config: await config(),
    onLog: (record) => logs.push(record),
    restart: false,
  });
}

const request = { method: "POST", path: "/v1/chat/completions", model: "gpt-4o" };

Deno.test("bin/authn-static-api-key passes the conformance check", async () => {
  await assertConformant(BINARY, { config: await config() });
});

Deno.test("bin/authn-static-api-key allows, denies and abstains through the host client", async () => {
  const logs: Record<string, unknown>[] = [];
  const plugin = await start(logs);
  try {
    const client = authenticatorClient(plugin);
    const allowed = await client.authenticate({
      credentials: { authorization: `Bearer ${DEMO_KEY}` },
      request,
    });
    assert.deepEqual(allowed, {
      decision: "allow",
      identity: { subject: "demo", tenant: "demo", groups: [], key_id: "demo" },
    });
    const raw = await client.authenticate({ credentials: { api_key: RAW_SECRET }, request });
    assert.equal(raw.decision, "allow");
    const forbidden = await client.authenticate({
      credentials: { api_key: DEMO_KEY },
      request: { ...request, model: "claude-3" },
    });
    assert.deepEqual(forbidden, {
      decision: "deny",
      status: 403,
      reason: 'API key "demo" may not use model "claude-3"',
    });
    const unknown = await client.authenticate({
      credentials: { api_key: "sk-nope-nope" },
      request,
    });
    assert.deepEqual(unknown, { decision: "deny", status: 401, reason: "Invalid API key" });
    const abstain = await client.authenticate({
      credentials: { authorization: "Basic Zm9vOmJhcg==" },
      request,
    });
    assert.deepEqual(abstain, { decision: "abstain" });
    assert.deepEqual(await checkHealth(plugin), { status: "ok", detail: { keys: 2, expired: 0 } });
  } finally {
    await plugin.shutdown();
  }
  const text = JSON.stringify(logs);
  assert.ok(logs.some((record) => record.msg === "initialized" && record.instance === "keys"));
  assert.ok(!text.includes(RAW_SECRET), "the raw key never reaches the log");
  assert.ok(!text.includes(DEMO_KEY), "a presented key never reaches the log");
});

Deno.test("bin/authn-static-api-key refuses a bad config naming every field, without the secret", async () => {
  const error = await assertConfigRefused(
    PluginProcess.start({
      command: BINARY,
      instance: "keys",
      capabilities: ["authenticator"],
      config: {
        keys: [{ id: "x", sha256: "not-hex", subject: "x" }, {
          id: "y",
          key: RAW_SECRET,
          sha256: "00",
          subject: 5,
        }],
        prefix: "sk-",
      },
      onLog: () => {},
      restart: false,
    }),
    ["keys[0].sha256", "keys[1]", "keys[1].sha256", "keys[1].subject", "prefix"],
  );
  assert.match(error.message, /plugin "authn-static-api-key" \(instance "keys"\)/);
  assert.ok(!JSON.stringify({ message: error.message, data: error.data }).includes(RAW_SECRET));
});

Deno.test("bin/authn-static-api-key answers random credentials and random lines, and keeps serving", async () => {
  const plugin = await start();
  try {
    const client = authenticatorClient(plugin);
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          authorization: fc.option(fc.string({ maxLength: 700 }), { nil: undefined }),
          api_key: fc.option(fc.string({ maxLength: 700 }), { nil: undefined }),
        }),
        fc.option(fc.string({ maxLength: 50 }), { nil: undefined }),
        async (credentials, model) => {
          const creds = Object.fromEntries(
            Object.entries(credentials).filter(([, v]) => v !== undefined),
          );
          const result = await client.authenticate({
            credentials: creds,
            request: { method: "POST", path: "/v1/x", ...(model ? { model } : {}) },
          });
          assert.ok(["allow", "deny", "abstain"].includes(result.decision));
          if (result.decision === "deny") {
            // Reasons come from fixed sentences that name the key's id, never the key.
            assert.match(
              result.reason,
              /^(Invalid API key|Malformed API key: [^"]*|API key "(demo|raw)" .*)$/,
            );
          }
        },
      ),
      { numRuns: 200 },
    );
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 6 }), async (params) => {
        const answer = await plugin.request("authn.authenticate", params).then(
          () => "ok",
          (e) => e,
        );
        if (answer !== "ok") assert.ok(answer instanceof Error && "code" in answer, String(answer));
      }),
      { numRuns: 200 },
    );
    const health = await checkHealth(plugin);
    assert.equal(health.status, "ok");
  } finally {
    await plugin.shutdown();
  }
});
