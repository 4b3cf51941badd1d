/**
 * The routing strategies of router-litellm: each puts the available deployments of one
 * priority tier in the order to try them. Every tie is broken at random (LiteLLM's least-busy
 * always picks the first of equals, which starves the others), with the `random()` passed in,
 * so tests are repeatable with a seeded source.
 *
 * @module
 */

import { shuffle } from "@vulpes/contract/plugin";
import type { Strategy } from "./config.ts";
import { average, type DeploymentState, inFlight } from "./_state.ts";

/** What a strategy reads of a deployment. */
export interface Candidate {
  /** Deployment id. */
  id: string;
  /** `weight` from config. */
  weight?: number | undefined;
  /** `rpm` from config. */
  rpm?: number | undefined;
  /** `tpm` from config. */
  tpm?: number | undefined;
  /** Input plus output cost of one token; Infinity when unknown. */
  cost: number;
  /** Its live state (already refreshed). */
  state: DeploymentState;
}

/** What a strategy reads of the request and config. */
export interface StrategyInput {
  /** Whether the client streams (latency-based-routing then ranks by time to first token). */
  stream: boolean;
  /** latency-based-routing's buffer: within (1 + buffer) × the best counts as equal. */
  latencyBuffer: number;
  /** Random numbers in [0, 1). */
  random: () => number;
}

/** The candidates in the order the strategy gives; the input is not changed. */
export function orderCandidates<T extends Candidate>(
  strategy: Strategy,
  candidates: readonly T[],
  input: StrategyInput,
): T[] {
  switch (strategy) {
    case "simple-shuffle":
      return weightedShuffle(candidates, shuffleWeights(candidates), input.random);
    case "least-busy":
      return sortShuffled(candidates, (c) => inFlight(c.state), input.random);
    case "latency-based-routing":
      return byLatency(candidates, input);
    case "usage-based-routing":
    case "usage-based-routing-v2":
      return sortShuffled(candidates, (c) => c.state.tpm, input.random);
    case "cost-based-routing":
      return sortShuffled(candidates, (c) => c.cost, input.random);
  }
}

/**
 * Weights of simple-shuffle, as LiteLLM reads them: `weight` when any candidate sets one
 * (others weigh 1), else `rpm`, else `tpm` (a candidate without it weighs as much as the
 * largest, since it has no limit), else all equal.
 */
export function shuffleWeights(candidates: readonly Candidate[]): number[] {
  if (candidates.some((c) => c.weight !== undefined)) {
    return candidates.map((c) => c.weight ?? 1);
  }
  for (const key of ["rpm", "tpm"] as const) {
    const given = candidates.map((c) => c[key]).filter((v): v is number => v !== undefined);
    if (given.length === 0) continue;
    const largest = Math.max(...given);
    return candidates.map((c) => c[key] ?? largest);
  }
  return candidates.map(() => 1);
}

/**
 * A random permutation drawn by weight: the first item with probability weight / total, the
 * next among the rest the same way. Done as an exponential race (each item draws
 * -ln(1 - u) / weight, smallest first), which gives exactly that law in O(n log n).
 */
export function weightedShuffle<T>(
  items: readonly T[],
  weights: readonly number[],
  random: () => number,
): T[] {
  const keyed = items.map((item, i) => ({ item, key: -Math.log(1 - unit(random)) / weights[i]! }));
  keyed.sort((a, b) => a.key - b.key);
  return keyed.map((entry) => entry.item);
}

/** Ascending by `metric`, equal metrics in uniformly random order. */
export function sortShuffled<T>(
  items: readonly T[],
  metric: (item: T) => number,
  random: () => number,
): T[] {
  const keyed = shuffle(items, random).map((item) => ({ item, value: metric(item) }));
  keyed.sort((a, b) => a.value - b.value); // stable: the shuffle decides ties
  return keyed.map((entry) => entry.item);
}

/**
 * The score latency-based-routing ranks by: the moving average of time to first token for a
 * stream (latency when there is no TTFT sample yet), of latency otherwise; 0 for a deployment
 * never measured, so new deployments are tried rather than ignored.
 */
export function latencyScore(state: DeploymentState, stream: boolean): number {
  if (stream) {
    const ttft = average(state.ttft);
    if (ttft !== null) return ttft;
  }
  return average(state.latency) ?? 0;
}

function byLatency<T extends Candidate>(candidates: readonly T[], input: StrategyInput): T[] {
  const sorted = sortShuffled(candidates, (c) => latencyScore(c.state, input.stream), input.random);
  if (sorted.length < 2 || input.latencyBuffer <= 0) return sorted;
  const best = latencyScore(sorted[0]!.state, input.stream);
  const limit = best * (1 + input.latencyBuffer);
  let near = 1;
  while (near < sorted.length && latencyScore(sorted[near]!.state, input.stream) <= limit) near++;
  return [...shuffle(sorted.slice(0, near), input.random), ...sorted.slice(near)];
}

/** A random number forced into [0, 1), whatever the source returns. */
function unit(random: () => number): number {
  const value = random();
  return value >= 0 && value < 1 ? value : 0;
}
