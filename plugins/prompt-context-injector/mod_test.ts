import assert from "node:assert/strict";
import { check, type PromptResolveParams } from "@vulpes/contract/capabilities";
import type { PluginInstance } from "@vulpes/contract/plugin";
import { servePlugin } from "@vulpes/contract/plugin";
import { createLinkedPair, Peer, PluginError } from "@vulpes/contract/protocol";
import { createTestCall, createTestContext, type TestContext } from "@vulpes/contract/testing";
import { configSchema } from "./config.ts";
import { plugin } from "./mod.ts";

const CONFIG = {
  blocks: {
    safety: { content: "Never reveal credentials or internal URLs." },
    "acme-tone": { content: "Write like Acme: short sentences, no jargon.", version: "2026-03" },
    billing: { content: "Refunds take 5 business days.", role: "user" },
  },
  rules: [
    { blocks: ["safety"] },
    { blocks: ["acme-tone"], match: { tenants: ["acme"] }, placement: "append_system" },
    { match: { key: "variables.context" }, placement: "before_last_user" },
  ],
};

async function instance(context: TestContext = createTestContext()): Promise<PluginInstance> {
  return await plugin.create(configSchema.parse(CONFIG), context);
}

function callWith(context: TestContext) {
  return createTestCall({ logger: context.logger });
}

function params(overrides: Partial<PromptResolveParams> = {}): PromptResolveParams {
  return {
    identity: { subject: "alice", tenant: "acme", groups: [] },
    model: "gpt-4o",
    messages: [{ role: "system", content: "You are Acme's assistant." }, {
      role: "user",
      content: "Where is my refund?",
    }],
    ...overrides,
  };
}

Deno.test("resolve() injects the matching blocks and reports them in applied", async () => {
  const context = createTestContext();
  const p = await instance(context);
  const result = await p.prompt_provider!.resolve(
    params({ prompt: { id: "support", variables: { context: "billing" } } }),
    callWith(context),
  );
  assert.deepEqual(result, {
    messages: [
      {
        role: "system",
        content: "<!-- vulpes:context:safety -->\nNever reveal credentials or internal URLs.",
      },
      { role: "system", content: "You are Acme's assistant." },
      {
        role: "system",
        content: "<!-- vulpes:context:acme-tone -->\nWrite like Acme: short sentences, no jargon.",
      },
      { role: "user", content: "<!-- vulpes:context:billing -->\nRefunds take 5 business days." },
      { role: "user", content: "Where is my refund?" },
    ],
    applied: [{ id: "safety" }, { id: "acme-tone", version: "2026-03" }, { id: "billing" }],
  });
  const log = context.logs.find((record) => record.msg === "context applied");
  assert.deepEqual(log?.replaced, 0);
});

Deno.test("resolve() is idempotent: its own output resolves to itself", async () => {
  const context = createTestContext();
  const p = await instance(context);
  const first = await p.prompt_provider!.resolve(
    params({ prompt: { id: "support", variables: { context: ["billing"] } } }),
    callWith(context),
  );
  const second = await p.prompt_provider!.resolve(
    params({
      messages: first.messages,
      prompt: { id: "support", variables: { context: "billing" } },
    }),
    callWith(context),
  );
  assert.deepEqual(second, first);
  assert.deepEqual(context.logs.at(-1)?.replaced, 3);
});

Deno.test("resolve() replaces a block the client sent twice with one configured copy", async () => {
  const p = await instance();
  const stale = { role: "system", content: "<!-- vulpes:context:safety -->\nan older wording" };
  const result = await p.prompt_provider!.resolve(
    params({
      identity: { subject: "bob", groups: [] },
      messages: [stale, stale, { role: "user", content: "hi" }],
    }),
    callWith(createTestContext()),
  );
  assert.deepEqual(result.messages, [
    {
      role: "system",
      content: "<!-- vulpes:context:safety -->\nNever reveal credentials or internal URLs.",
    },
    { role: "user", content: "hi" },
  ]);
  assert.deepEqual(result.applied, [{ id: "safety" }]);
});

Deno.test("resolve() refuses a key variable that names no block, naming it", async () => {
  const p = await instance();
  await assert.rejects(
    async () =>
      await p.prompt_provider!.resolve(
        params({ prompt: { id: "support", variables: { context: "shipping" } } }),
        callWith(createTestContext()),
      ),
    (error: unknown) => {
      assert.ok(error instanceof PluginError);
      assert.equal(error.type, "not_found");
      assert.equal(
        error.message,
        'prompt.variables.context names "shipping", which is not a context block; blocks: acme-tone, billing, safety',
      );
      return true;
    },
  );
});

Deno.test("configSchema lists every bad field path in one pass", () => {
  const result = check(configSchema, {
    blocks: {
      ok: { content: "x" },
      "bad key": { content: "x" },
      empty: { content: "", role: "assistant", colour: "red" },
    },
    rules: [
      { blocks: ["ok", "missing"] },
      { match: { tenants: [] } },
      { match: { key: "prompt.variables.x" }, placement: "middle" },
      { blocks: [] },
    ],
    extra: 1,
  });
  assert.equal(result.ok, false);
  const issues = result.ok ? [] : result.issues;
  assert.deepEqual(issues.map((issue) => issue.path).sort(), [
    "blocks.empty.colour",
    "blocks.empty.content",
    "blocks.empty.role",
    'blocks["bad key"]',
    "extra",
    "rules[0].blocks[1]",
    "rules[1]",
    "rules[1].match.tenants",
    "rules[2].match.key",
    "rules[2].placement",
    "rules[3].blocks",
  ]);
  const byPath = (path: string) => issues.find((issue) => issue.path === path)?.message;
  assert.equal(byPath("rules[0].blocks[1]"), 'no block "missing" in blocks');
  assert.match(byPath("rules[1]")!, /expected `blocks`, or `match.key`/);
  assert.match(byPath('blocks["bad key"]')!, /expected a block key/);
});

Deno.test("configSchema fills in defaults", () => {
  assert.deepEqual(
    configSchema.parse({ blocks: { a: { content: "x" } }, rules: [{ blocks: ["a"] }] }),
    {
      blocks: { a: { content: "x", role: "system" } },
      rules: [{ blocks: ["a"], match: {}, placement: "prepend_system" }],
    },
  );
});

Deno.test("the plugin resolves over the protocol in memory", async () => {
  const [core, side] = createLinkedPair();
  const served = servePlugin(plugin, side, { writeLog: () => {} });
  const host = new Peer(core);
  await host.start();
  await host.request("initialize", {
    protocol_version: "1",
    instance: "context",
    capabilities: ["prompt_provider"],
    config: CONFIG,
    settings: { capture_payloads: false },
  });
  const result = await host.request("prompt.resolve", {
    identity: { subject: "bob", groups: [] },
    model: "gpt-4o",
    messages: [{ role: "user", content: "hi" }],
  }) as { applied: unknown };
  assert.deepEqual(result.applied, [{ id: "safety" }]);
  assert.deepEqual(await host.request("health"), {
    status: "ok",
    detail: { blocks: 3, rules: 3 },
  });
  await host.request("shutdown");
  await served.done;
});
