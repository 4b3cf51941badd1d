/**
 * Random orders for routers, drawn from an injected random source (`PluginContext.random`),
 * so tests with a seeded source are repeatable.
 *
 * @module
 */

/**
 * A uniform random permutation (Fisher–Yates); the input is not changed. A source that
 * returns 1 or NaN is clamped, never an index out of range.
 *
 * @param items The items.
 * @param random A source of numbers in [0, 1).
 * @returns The items in random order.
 *
 * @example Shuffle with a fixed source
 * ```ts
 * import assert from "node:assert/strict";
 * import { shuffle } from "./random.ts";
 *
 * assert.deepEqual(shuffle(["a", "b", "c"], () => 0).sort(), ["a", "b", "c"]);
 * ```
 */
export function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = pick(i + 1, random);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * A random permutation drawn by weight: the first item with probability weight / total, the
 * next among the rest the same way, and so on. Weights must be positive.
 *
 * @param items The items.
 * @param weightOf The weight of an item.
 * @param random A source of numbers in [0, 1).
 * @returns The items, heavier ones more likely first.
 *
 * @example The draw at 0.3 of weights 1 : 2 : 1
 * ```ts
 * import assert from "node:assert/strict";
 * import { weightedPermutation } from "./random.ts";
 *
 * const weights: Record<string, number> = { a: 1, b: 2, c: 1 };
 * assert.equal(weightedPermutation(["a", "b", "c"], (x) => weights[x]!, () => 0.3)[0], "b");
 * ```
 */
export function weightedPermutation<T>(
  items: readonly T[],
  weightOf: (item: T) => number,
  random: () => number,
): T[] {
  const rest = [...items];
  const out: T[] = [];
  while (rest.length > 0) {
    const total = rest.reduce((sum, item) => sum + weightOf(item), 0);
    const r = random() * total;
    let chosen = rest.length - 1; // also the answer when rounding leaves r at the very top
    let cumulative = 0;
    for (let i = 0; i < rest.length; i++) {
      cumulative += weightOf(rest[i]!);
      if (r < cumulative) {
        chosen = i;
        break;
      }
    }
    out.push(rest.splice(chosen, 1)[0]!);
  }
  return out;
}

function pick(n: number, random: () => number): number {
  const index = Math.floor(random() * n);
  return index >= 0 && index < n ? index : n - 1;
}
