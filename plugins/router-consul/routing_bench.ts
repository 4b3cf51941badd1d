/**
 * What router-consul does per `router.route` (the pool of fresh services, then the serving
 * instances in an order drawn by weight) with 3 and 100 healthy instances, and what it does
 * per blocking-query answer (`instancesFrom`: each entry checked with zod, its checks
 * aggregated and its models parsed).
 *
 * @module
 */

import { type InstanceOptions, instancesFrom } from "./_consul.ts";
import { poolOf, routesFor } from "./_routing.ts";
import type { WatchState } from "./_watch.ts";

const options: InstanceOptions = {
  allowWarning: false,
  metaKey: "models",
  scheme: "http",
  pathPrefix: "/v1",
};

/** A health answer of `count` passing instances, as Consul sends it. */
function answer(count: number): unknown[] {
  return Array.from({ length: count }, (_, i) => ({
    Node: { Node: `node-${i % 5}`, Address: `10.0.0.${i % 5}` },
    Service: {
      ID: `vllm-${i}`,
      Service: "vllm",
      Address: `10.0.1.${i}`,
      Port: 8000 + i,
      Tags: ["openai"],
      Meta: { models: i % 2 === 0 ? "gpt-4o, llama" : "llama=meta-llama/Llama-3-70B" },
      Weights: { Passing: 1 + (i % 3), Warning: 1 },
    },
    Checks: [
      { CheckID: "serfHealth", Status: "passing" },
      { CheckID: `service:vllm-${i}`, Status: "passing" },
    ],
  }));
}

function state(count: number): WatchState {
  return {
    service: "vllm",
    instances: instancesFrom(answer(count), options).instances,
    skipped: [],
    index: 100,
    lastSuccessAt: 1,
    lastError: null,
    failingSince: null,
    failures: 0,
  };
}

const random = Math.random;
for (const count of [3, 100]) {
  const states = [state(count)];
  Deno.bench(`route: poolOf() + routesFor(), ${count} instances`, { group: "route" }, () => {
    routesFor(poolOf(states, 2, 60_000).instances, "llama", "pool", random);
  });
}

for (const count of [3, 100]) {
  const body = answer(count);
  Deno.bench(`instancesFrom() a ${count}-entry health answer`, { group: "answer" }, () => {
    instancesFrom(body, options);
  });
}
