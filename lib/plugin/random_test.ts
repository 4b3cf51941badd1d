import assert from "node:assert/strict";
import { shuffle, weightedPermutation } from "./random.ts";

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
