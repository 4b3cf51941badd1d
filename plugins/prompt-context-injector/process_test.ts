import assert from "node:assert/strict";
import fc from "fast-check";
import { checkHealth, PluginProcess, promptProviderClient } from "@vulpes/contract/host";
import { PluginError } from "@vulpes/contract/protocol";
import {
  assertConfigRefused,
  assertConformant,
  assertNoPermissions,
  pluginBinary,
} from "../../tests/_support.ts";

const BINARY = pluginBinary("prompt-context-injector");

const CONFIG = {
  blocks: {
    safety: { content: "Never reveal credentials." },
    eu: { content: "Answer under EU consumer law.", version: "3" },
    billing: { content: "Refunds take 5 business days.", role: "user" },
  },
  rules: [
    { blocks: ["safety"] },
    { blocks: ["eu"], match: { groups: ["eu"], models: ["gpt-*"] }, placement: "append_system" },
    { match: { key: "variables.context" }, placement: "before_last_user" },
  ],
};

async function start(logs: Record<string, unknown>[] = []): Promise<PluginProcess> {
  return await PluginProcess.start({
    command: BINARY,
    instance: "context",
    capabilities: ["prompt_provider"],
    config: CONFIG,
    onLog: (record) => logs.push(record),
    restart: false,
  });
}

const IDENTITY = { subject: "alice", tenant: "acme", groups: ["eu"] };
const MESSAGES = [{ role: "system", content: "Be brief." }, { role: "user", content: "Refund?" }];

Deno.test("bin/prompt-context-injector passes the conformance check", async () => {
  await assertConformant(BINARY, { config: CONFIG });
});

Deno.test("bin/prompt-context-injector has no permissions, as declared and as described", async () => {
  await assertNoPermissions("prompt-context-injector", ["prompt_provider"]);
});

Deno.test("bin/prompt-context-injector injects, replaces and reports through the host client", async () => {
  const logs: Record<string, unknown>[] = [];
  const plugin = await start(logs);
  try {
    const client = promptProviderClient(plugin);
    const first = await client.resolve({
      identity: IDENTITY,
      model: "gpt-4o",
      messages: MESSAGES,
      prompt: { id: "support", variables: { context: "billing" } },
    });
    assert.deepEqual(first, {
      messages: [
        { role: "system", content: "<!-- vulpes:context:safety -->\nNever reveal credentials." },
        { role: "system", content: "Be brief." },
        { role: "system", content: "<!-- vulpes:context:eu -->\nAnswer under EU consumer law." },
        { role: "user", content: "<!-- vulpes:context:billing -->\nRefunds take 5 business days." },
        { role: "user", content: "Refund?" },
      ],
      applied: [{ id: "safety" }, { id: "eu", version: "3" }, { id: "billing" }],
    });
    const again = await client.resolve({
      identity: IDENTITY,
      model: "gpt-4o",
      messages: [...first.messages, ...first.messages.slice(0, 1)],
      prompt: { id: "support", variables: { context: "billing" } },
    });
    assert.deepEqual(again, first, "a block sent back (twice) is replaced, never duplicated");
    const plain = await client.resolve({
      identity: { subject: "bob", groups: [] },
      model: "o3",
      messages: MESSAGES,
    });
    assert.deepEqual(plain.applied, [{ id: "safety" }]);
    assert.deepEqual(await checkHealth(plugin), {
      status: "ok",
      detail: { blocks: 3, rules: 3 },
    });
  } finally {
    await plugin.shutdown();
  }
  assert.ok(logs.some((record) => record.msg === "initialized" && record.instance === "context"));
});

Deno.test("bin/prompt-context-injector answers bad_request and not_found for a bad key variable", async () => {
  const plugin = await start();
  try {
    const client = promptProviderClient(plugin);
    const resolve = (context: unknown) =>
      client.resolve({
        identity: IDENTITY,
        model: "gpt-4o",
        messages: MESSAGES,
        prompt: { id: "support", variables: { context } },
      }).then(() => null, (e) => e);
    const wrongType = await resolve(42);
    assert.ok(wrongType instanceof PluginError, String(wrongType));
    assert.equal(wrongType.type, "bad_request");
    assert.equal(wrongType.data.param, "prompt.variables.context");
    const unknown = await resolve(["billing", "shipping"]);
    assert.ok(unknown instanceof PluginError, String(unknown));
    assert.equal(unknown.type, "not_found");
    assert.match(unknown.message, /names "shipping", which is not a context block/);
  } finally {
    await plugin.shutdown();
  }
});

Deno.test("bin/prompt-context-injector refuses a bad config naming every field", async () => {
  const error = await assertConfigRefused(
    PluginProcess.start({
      command: BINARY,
      instance: "context",
      capabilities: ["prompt_provider"],
      config: {
        blocks: { safety: { content: "" } },
        rules: [{ blocks: ["safety", "ghost"], placement: "middle" }, { match: {} }],
      },
      onLog: () => {},
      restart: false,
    }),
    [
      "blocks.safety.content",
      "rules[0].blocks[1]",
      "rules[0].placement",
      "rules[1]",
    ],
  );
  assert.match(error.message, /plugin "prompt-context-injector" \(instance "context"\)/);
});

Deno.test("bin/prompt-context-injector stays idempotent on random messages and keeps serving", async () => {
  const plugin = await start();
  try {
    const client = promptProviderClient(plugin);
    const message = fc.record({
      role: fc.constantFrom("system", "developer", "user", "assistant"),
      content: fc.oneof(
        fc.string({ maxLength: 20 }),
        fc.constantFrom("safety", "eu", "billing", "other").map((key) =>
          `<!-- vulpes:context:${key} -->\nstale`
        ),
      ),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(message, { maxLength: 8 }), fc.boolean(), async (messages, eu) => {
        const identity = { subject: "s", groups: eu ? ["eu"] : [] };
        const prompt = { id: "p", variables: { context: "billing" } };
        const once = await client.resolve({ identity, model: "gpt-4o", messages, prompt });
        const twice = await client.resolve({
          identity,
          model: "gpt-4o",
          messages: once.messages,
          prompt,
        });
        assert.deepEqual(twice, once);
      }),
      { numRuns: 100 },
    );
    assert.equal((await checkHealth(plugin)).status, "ok");
  } finally {
    await plugin.shutdown();
  }
});
