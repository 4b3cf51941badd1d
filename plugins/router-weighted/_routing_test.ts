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
  shuffle,
  weightedPermutation,
} from "./_routing.ts";

/** mulberry32: a small seeded generator, so every run draws the same numbers. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return function random() {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function table(input: Record<string, unknown>) {
  return compileTable(configSchema.parse(input));
}

function counts<T>(draws: number, draw: () => T): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i < draws; i++) {
    const key = JSON.stringify(draw());
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

/** Pearson's chi-square statistic of observed counts against expected probabilities. */
function chiSquare(observed: Map<string, number>, expected: Map<string, number>, n: number) {
  let statistic = 0;
  for (const [key, p] of expected) {
    const e = n * p;
    statistic += ((observed.get(key) ?? 0) - e) ** 2 / e;
  }
  return statistic;
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

Deno.test("shuffle() draws every permutation of three about equally often", () => {
  const draws = 60_000;
  const random = seeded(1);
  const observed = counts(draws, () => shuffle(["a", "b", "c"], random));
  const expected = new Map(
    [["a", "b", "c"], ["a", "c", "b"], ["b", "a", "c"], ["b", "c", "a"], ["c", "a", "b"], [
      "c",
      "b",
      "a",
    ]].map((p) => [JSON.stringify(p), 1 / 6]),
  );
  assert.equal(observed.size, 6, "all six permutations, nothing else");
  // 5 degrees of freedom: P(chi-square > 20.52) = 0.001 for a uniform shuffle.
  assert.ok(chiSquare(observed, expected, draws) < 20.52, JSON.stringify([...observed]));
});

Deno.test("shuffle() leaves its input alone and copes with a random source that returns 1", () => {
  const items = ["a", "b", "c", "d"];
  assert.deepEqual(shuffle(items, () => 1).sort(), ["a", "b", "c", "d"]);
  assert.deepEqual(shuffle(items, () => 0.999999999).sort(), ["a", "b", "c", "d"]);
  assert.deepEqual(shuffle(items, () => Number.NaN).sort(), ["a", "b", "c", "d"]);
  assert.deepEqual(items, ["a", "b", "c", "d"]);
  assert.deepEqual(shuffle([], Math.random), []);
});

Deno.test("weightedPermutation() picks a 1:3 pair first about 25% : 75% of the time", () => {
  const draws = 20_000;
  const random = seeded(42);
  let heavyFirst = 0;
  for (let i = 0; i < draws; i++) {
    const [first] = weightedPermutation(
      [{ id: "light", w: 1 }, { id: "heavy", w: 3 }],
      (t) => t.w,
      random,
    );
    if (first!.id === "heavy") heavyFirst++;
  }
  // Binomial(20000, 0.75): sd = sqrt(20000 * 0.75 * 0.25) ≈ 61. Five sd (±306, ±1.5 points)
  // fails a correct implementation less than once in a million seeds.
  const sd = Math.sqrt(draws * 0.75 * 0.25);
  assert.ok(Math.abs(heavyFirst - draws * 0.75) < 5 * sd, `heavy first ${heavyFirst} of ${draws}`);
});

Deno.test("weightedPermutation() draws whole permutations with the probabilities of successive draws", () => {
  const weights: Record<string, number> = { a: 1, b: 2, c: 7 };
  const draws = 50_000;
  const random = seeded(2026);
  const observed = counts(
    draws,
    () => weightedPermutation(["a", "b", "c"], (id) => weights[id]!, random),
  );
  // P(x, y, z) = w(x)/10 × w(y)/(10 − w(x)).
  const expected = new Map<string, number>();
  for (const x of ["a", "b", "c"]) {
    for (const y of ["a", "b", "c"].filter((id) => id !== x)) {
      const z = ["a", "b", "c"].find((id) => id !== x && id !== y)!;
      expected.set(
        JSON.stringify([x, y, z]),
        (weights[x]! / 10) * (weights[y]! / (10 - weights[x]!)),
      );
    }
  }
  assert.equal(observed.size, 6);
  // 5 degrees of freedom: P(chi-square > 20.52) = 0.001 for a correct draw.
  assert.ok(chiSquare(observed, expected, draws) < 20.52, JSON.stringify([...observed]));
});

Deno.test("weightedPermutation() maps the random number onto cumulative weights", () => {
  const items = ["a", "b", "c"];
  const weightOf = (id: string) => ({ a: 1, b: 1, c: 2 })[id]!;
  assert.deepEqual(weightedPermutation(items, weightOf, () => 0), ["a", "b", "c"]);
  // 0.5 × 4 = 2 is past a and b (cumulative 1, 2): c; then 0.5 × 2 = 1 is past a: b.
  assert.deepEqual(weightedPermutation(items, weightOf, () => 0.5), ["c", "b", "a"]);
  // A source that returns 1 (out of range) still gives a permutation: the last item.
  assert.deepEqual(weightedPermutation(items, weightOf, () => 1), ["c", "b", "a"]);
  assert.deepEqual(weightedPermutation(items, weightOf, () => Number.NaN), ["c", "b", "a"]);
  assert.deepEqual(items, ["a", "b", "c"]);
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
