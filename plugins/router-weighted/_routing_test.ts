import assert from "node:assert/strict";
import fc from "fast-check";
import { configSchema } from "./config.ts";
import {
  compileTable,
  listModels,
  matchesPattern,
  notServedMessage,
  resolveModel,
  routesFor,
  servedNames,
} from "./_routing.ts";

function table(input: Record<string, unknown>) {
  return compileTable(configSchema.parse(input));
}

const ONE_TARGET = { targets: [{ upstream: "u" }] };

Deno.test("matchesPattern() matches `*` against any run of characters, none included", () => {
  const cases: [string, string, boolean][] = [
    ["gpt-*", "gpt-4o", true],
    ["gpt-*", "gpt-", true],
    ["gpt-*", "gpt", false],
    ["gpt-*", "xgpt-4o", false],
    ["*-mini", "gpt-4o-mini", true],
    ["*-mini", "gpt-4o-mini-2024", false],
    ["gpt-*-mini", "gpt-4o-mini", true],
    ["gpt-*-mini", "gpt--mini", true],
    ["a*b*c", "abc", true],
    ["a*b*c", "axxbyyc", true],
    ["a*b*c", "axxcyyb", false],
    ["*", "", true],
    ["*", "anything/at:all", true],
    ["**", "x", true],
    ["gpt.4*", "gpt-4o", false],
    ["gpt.4*", "gpt.4o", true],
    ["llama/*", "llama/3.1\n70b", true],
  ];
  for (const [pattern, name, expected] of cases) {
    assert.equal(matchesPattern(pattern, name), expected, `${pattern} vs ${JSON.stringify(name)}`);
  }
});

Deno.test("matchesPattern() agrees with the regular expression of the pattern", () => {
  fc.assert(
    fc.property(
      fc.string({ unit: fc.constantFrom("a", "b", "*"), maxLength: 8 }),
      fc.string({ unit: fc.constantFrom("a", "b"), maxLength: 12 }),
      (pattern, name) => {
        const regexp = new RegExp(`^${pattern.split("*").join(".*")}$`);
        assert.equal(matchesPattern(pattern, name), regexp.test(name));
      },
    ),
    { numRuns: 2000, seed: 7 },
  );
});

Deno.test("matchesPattern() stays fast on a long name against a pattern with many stars", () => {
  // A regular expression with several `.*` backtracks polynomially here.
  const start = performance.now();
  assert.equal(matchesPattern("*a*a*a*a*a*b", "a".repeat(200_000)), false);
  assert.ok(performance.now() - start < 2000);
});

Deno.test("resolveModel() prefers exact keys and aliases over patterns", () => {
  const t = table({
    models: {
      "gpt-4o": { ...ONE_TARGET, owned_by: "exact" },
      "gpt-*": { ...ONE_TARGET, owned_by: "pattern" },
    },
    aliases: { "gpt-latest": "gpt-4o" },
  });
  assert.equal(resolveModel(t, "gpt-4o")?.entry.owned_by, "exact");
  assert.deepEqual(resolveModel(t, "gpt-latest")?.name, "gpt-4o");
  assert.equal(resolveModel(t, "gpt-latest")?.entry.owned_by, "exact");
  assert.equal(resolveModel(t, "gpt-4o-mini")?.entry.owned_by, "pattern");
  assert.equal(resolveModel(t, "gpt-4o-mini")?.name, "gpt-4o-mini");
  assert.equal(resolveModel(t, "claude-3"), null);
});

Deno.test("resolveModel() picks the pattern with the longest literal prefix, whatever the key order", () => {
  const keys = ["*", "gpt-*", "gpt-4o-*", "gpt-*-mini", "gpt-*-mi*", "g*"];
  const expected: [string, string][] = [
    ["gpt-4o-mini", "gpt-4o-*"], // prefix "gpt-4o-" beats "gpt-"
    ["gpt-4.1-mini", "gpt-*-mini"], // same prefix "gpt-": more literal characters
    ["gpt-4.1-mixtral", "gpt-*-mi*"],
    ["gpt-4.1", "gpt-*"],
    ["gemini", "g*"],
    ["claude", "*"],
  ];
  for (const order of [keys, [...keys].reverse()]) {
    const models = Object.fromEntries(order.map((key) => [key, { ...ONE_TARGET, owned_by: key }]));
    const t = table({ models });
    for (const [name, winner] of expected) {
      assert.equal(resolveModel(t, name)?.entry.owned_by, winner, name);
    }
  }
});

Deno.test("resolveModel() breaks a full tie between patterns by code-unit order of the key", () => {
  // "a*b*" and "a**b": same prefix "a", same literal characters; "a**b" < "a*b*".
  for (const order of [["a*b*", "a**b"], ["a**b", "a*b*"]]) {
    const models = Object.fromEntries(order.map((key) => [key, { ...ONE_TARGET, owned_by: key }]));
    assert.equal(resolveModel(table({ models }), "axb")?.entry.owned_by, "a**b");
  }
});

Deno.test("routesFor() keeps config order for ordered, with model and deployment defaults", () => {
  const t = table({
    models: {
      "gpt-4o": {
        targets: [
          { upstream: "openai" },
          { upstream: "azure", model: "gpt-4o-prod", options: { api_version: "2024-10-21" } },
          { upstream: "backup", model: "gpt-4o", deployment: "backup-eu" },
        ],
      },
    },
  });
  const routes = routesFor(resolveModel(t, "gpt-4o")!, () => assert.fail("no randomness"));
  assert.deepEqual(routes, [
    { upstream: "openai", model: "gpt-4o", deployment: "openai/gpt-4o" },
    {
      upstream: "azure",
      model: "gpt-4o-prod",
      deployment: "azure/gpt-4o-prod",
      options: { api_version: "2024-10-21" },
    },
    { upstream: "backup", model: "gpt-4o", deployment: "backup-eu" },
  ]);
});

Deno.test("routesFor() sends the requested name for a pattern target without model", () => {
  const t = table({ models: { "llama-*": { targets: [{ upstream: "vllm" }] } } });
  assert.deepEqual(routesFor(resolveModel(t, "llama-3.1-8b")!, Math.random), [
    { upstream: "vllm", model: "llama-3.1-8b", deployment: "vllm/llama-3.1-8b" },
  ]);
});

Deno.test("servedNames() and listModels() list what is served, sorted; models leave patterns out", () => {
  const t = table({
    models: {
      "gpt-4o": { ...ONE_TARGET, owned_by: "openai" },
      "claude-3": ONE_TARGET,
      "gpt-*": { ...ONE_TARGET, owned_by: "openai-pattern" },
    },
    aliases: { fast: "gpt-4o", newest: "gpt-5" },
  });
  assert.deepEqual(servedNames(t), ["claude-3", "fast", "gpt-*", "gpt-4o", "newest"]);
  assert.deepEqual(listModels(t), [
    { id: "claude-3", owned_by: "vulpes" },
    { id: "fast", owned_by: "openai" },
    { id: "gpt-4o", owned_by: "openai" },
    { id: "newest", owned_by: "openai-pattern" },
  ]);
});

Deno.test("notServedMessage() quotes the name and caps the list at 50 names", () => {
  assert.equal(
    notServedMessage("x", ["a", "b", "gpt-*"]),
    'Model "x" is not served; served models: a, b, gpt-*',
  );
  const many = Array.from({ length: 62 }, (_, i) => `m${String(i).padStart(2, "0")}`);
  const message = notServedMessage('say "hi"', many);
  assert.ok(message.startsWith('Model "say \\"hi\\"" is not served; served models: m00, m01, '));
  assert.ok(message.endsWith(", m48, m49 and 12 more"), message);
  const long = notServedMessage("z".repeat(10_000), ["a"]);
  assert.equal(long, `Model "${"z".repeat(200)}…" is not served; served models: a`);
});
