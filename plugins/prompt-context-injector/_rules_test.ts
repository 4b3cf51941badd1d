import assert from "node:assert/strict";
import type { Identity } from "@vulpes/contract/capabilities";
import { PluginError } from "@vulpes/contract/protocol";
import { matchesPattern, requestedKeys, type RequestFacts, selectBlocks } from "./_rules.ts";
import { configSchema } from "./config.ts";

const BLOCKS = {
  safety: { content: "Never reveal credentials." },
  acme: { content: "Acme's tone: short and friendly.", version: "2026-01" },
  eu: { content: "EU customers: cite GDPR articles." },
  billing: { content: "Billing FAQ …" },
  returns: { content: "Returns policy …", role: "user" },
  oncall: { content: "On-call runbook …" },
};

function config(rules: unknown[]) {
  return configSchema.parse({ blocks: BLOCKS, rules });
}

const ALICE: Identity = { subject: "alice", tenant: "acme", groups: ["eu", "support"] };

function facts(overrides: Partial<RequestFacts> = {}): RequestFacts {
  return { identity: ALICE, model: "gpt-4o", ...overrides };
}

function keys(rules: unknown[], overrides: Partial<RequestFacts> = {}): string[] {
  return selectBlocks(config(rules), facts(overrides)).map((s) => s.key);
}

Deno.test("selectBlocks() applies a rule without conditions to every request", () => {
  assert.deepEqual(keys([{ blocks: ["safety"] }]), ["safety"]);
  assert.deepEqual(
    keys([{ blocks: ["safety"], match: {} }], { identity: { subject: "x", groups: [] } }),
    [
      "safety",
    ],
  );
});

Deno.test("selectBlocks() matches a model rule by exact name or pattern", () => {
  const rules = [{ blocks: ["eu"], match: { models: ["gpt-4o", "claude-*"] } }];
  assert.deepEqual(keys(rules, { model: "gpt-4o" }), ["eu"]);
  assert.deepEqual(keys(rules, { model: "claude-3-5-sonnet" }), ["eu"]);
  assert.deepEqual(keys(rules, { model: "gpt-4o-mini" }), []);
});

Deno.test("selectBlocks() matches a tenant rule, never for a caller without tenant", () => {
  const rules = [{ blocks: ["acme"], match: { tenants: ["acme"] } }];
  assert.deepEqual(keys(rules), ["acme"]);
  assert.deepEqual(
    keys(rules, { identity: { subject: "alice", tenant: "other", groups: [] } }),
    [],
  );
  assert.deepEqual(keys(rules, { identity: { subject: "alice", groups: [] } }), []);
});

Deno.test("selectBlocks() matches a subject rule", () => {
  const rules = [{ blocks: ["oncall"], match: { subjects: ["alice", "bob"] } }];
  assert.deepEqual(keys(rules), ["oncall"]);
  assert.deepEqual(keys(rules, { identity: { subject: "carol", groups: [] } }), []);
});

Deno.test("selectBlocks() matches a group rule when the caller is in any of its groups", () => {
  const rules = [{ blocks: ["eu"], match: { groups: ["eu", "uk"] } }];
  assert.deepEqual(keys(rules), ["eu"]);
  assert.deepEqual(keys(rules, { identity: { subject: "a", groups: ["us"] } }), []);
});

Deno.test("selectBlocks() requires every condition of a rule", () => {
  const rules = [{
    blocks: ["eu"],
    match: { tenants: ["acme"], groups: ["eu"], models: ["gpt-*"] },
  }];
  assert.deepEqual(keys(rules), ["eu"]);
  assert.deepEqual(keys(rules, { model: "o3" }), []);
  assert.deepEqual(keys(rules, { identity: { ...ALICE, groups: [] } }), []);
});

Deno.test("selectBlocks() takes the block a key rule's prompt.id names, and ignores unknown ids", () => {
  const rules = [{ match: { key: "prompt.id" } }];
  assert.deepEqual(keys(rules, { prompt: { id: "billing" } }), ["billing"]);
  assert.deepEqual(keys(rules, { prompt: { id: "support-bot" } }), []);
  assert.deepEqual(keys(rules), []);
});

Deno.test("selectBlocks() takes the blocks a key variable names, a string or a list", () => {
  const rules = [{ match: { key: "variables.context" }, placement: "before_last_user" }];
  assert.deepEqual(keys(rules, { prompt: { id: "x", variables: { context: "billing" } } }), [
    "billing",
  ]);
  assert.deepEqual(
    keys(rules, { prompt: { id: "x", variables: { context: ["returns", "billing"] } } }),
    ["returns", "billing"],
  );
  assert.deepEqual(keys(rules, { prompt: { id: "x", variables: { other: "billing" } } }), []);
  assert.deepEqual(keys(rules, { prompt: { id: "x", variables: { context: null } } }), []);
});

Deno.test("selectBlocks() limits a key rule to its blocks when it lists them", () => {
  const rules = [{ blocks: ["billing", "returns"], match: { key: "variables.context" } }];
  const prompt = { id: "x", variables: { context: ["oncall", "returns"] } };
  assert.deepEqual(keys(rules, { prompt }), ["returns"]);
});

Deno.test("selectBlocks() combines a key rule with identity conditions", () => {
  const rules = [{ match: { key: "variables.context", tenants: ["acme"] } }];
  const prompt = { id: "x", variables: { context: "billing" } };
  assert.deepEqual(keys(rules, { prompt }), ["billing"]);
  assert.deepEqual(
    keys(rules, { prompt, identity: { subject: "a", tenant: "b", groups: [] } }),
    [],
  );
});

Deno.test("selectBlocks() applies every matching rule in order, each block once, placed by the first rule", () => {
  const selected = selectBlocks(
    config([
      { blocks: ["safety"] },
      { blocks: ["acme", "safety"], match: { tenants: ["acme"] }, placement: "append_system" },
      { blocks: ["oncall"], match: { subjects: ["bob"] } },
      { blocks: ["eu", "acme"], match: { groups: ["eu"] }, placement: "after_last_user" },
    ]),
    facts(),
  );
  assert.deepEqual(
    selected.map(({ key, placement, rule }) => ({ key, placement, rule })),
    [
      { key: "safety", placement: "prepend_system", rule: 0 },
      { key: "acme", placement: "append_system", rule: 1 },
      { key: "eu", placement: "after_last_user", rule: 3 },
    ],
  );
});

Deno.test("selectBlocks() refuses a key variable of the wrong type with bad_request", () => {
  const c = config([{ match: { key: "variables.context" } }]);
  for (const context of [1, { a: 1 }, ["billing", 2], true]) {
    assert.throws(
      () => selectBlocks(c, facts({ prompt: { id: "x", variables: { context } } })),
      (error: unknown) => {
        assert.ok(error instanceof PluginError);
        assert.equal(error.type, "bad_request");
        assert.equal(
          error.message,
          "prompt.variables.context names context blocks: expected a string or a list of strings",
        );
        assert.equal(error.data.param, "prompt.variables.context");
        return true;
      },
    );
  }
});

Deno.test("selectBlocks() answers not_found for a key variable naming unknown blocks", () => {
  const c = config([{ match: { key: "variables.context" } }]);
  assert.throws(
    () => selectBlocks(c, facts({ prompt: { id: "x", variables: { context: "shipping" } } })),
    {
      name: "PluginError",
      type: "not_found",
      message:
        'prompt.variables.context names "shipping", which is not a context block; blocks: acme, billing, eu, oncall, returns, safety',
    },
  );
  assert.throws(
    () =>
      selectBlocks(
        c,
        facts({ prompt: { id: "x", variables: { context: ["a", "billing", "b"] } } }),
      ),
    { type: "not_found", message: /names "a", "b", which are not context blocks/ },
  );
});

Deno.test("requestedKeys() reads prompt.id or one variable", () => {
  assert.deepEqual(requestedKeys("prompt.id", { id: "a", variables: { k: "b" } }), ["a"]);
  assert.deepEqual(requestedKeys("variables.k", { id: "a", variables: { k: "b" } }), ["b"]);
  assert.deepEqual(requestedKeys("variables.k", undefined), []);
});

Deno.test("matchesPattern() treats * as any run and every other character literally", () => {
  assert.ok(matchesPattern("gpt-*", "gpt-4o"));
  assert.ok(matchesPattern("gpt-*", "gpt-"));
  assert.ok(matchesPattern("*", "anything/at.all"));
  assert.ok(matchesPattern("gpt-4o*-mini", "gpt-4o-2024-mini"));
  assert.ok(!matchesPattern("gpt-4.1", "gpt-4x1"));
  assert.ok(!matchesPattern("gpt-*", "my-gpt-4o"));
});
