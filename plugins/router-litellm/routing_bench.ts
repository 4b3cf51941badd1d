/**
 * Route decisions per second with 100 deployments in one model group, per strategy: the
 * whole `router.route` handler (filters, tiers, strategy, retries, fallbacks, ticket), with
 * feedback settling each ticket so counts stay level.
 *
 * @module
 */

import { createTestCall, createTestContext } from "@vulpes/contract/testing";
import { configSchema, STRATEGIES, type Strategy } from "./config.ts";
import { plugin } from "./mod.ts";

const call = createTestCall();

const model_list = Array.from({ length: 100 }, (_, i) => ({
  model_name: "gpt-4o",
  upstream: `u${i % 10}`,
  model: `gpt-4o-${i}`,
  rpm: 1_000_000,
  tpm: 1_000_000_000,
  weight: 1 + (i % 5),
  order: 1 + (i % 2),
  max_input_tokens: 128_000,
  input_cost_per_token: 0.000001 * (1 + (i % 7)),
  output_cost_per_token: 0.000004,
}));

const params = {
  model: "gpt-4o",
  identity: { groups: [] },
  request: { stream: false, estimated_tokens: 500 },
};

/** An instance with a latency sample for every deployment, and its movable clock. */
async function setup(strategy: Strategy) {
  const clock = { now: Date.parse("2026-01-01T00:00:00Z") };
  const instance = await plugin.create(
    configSchema.parse({
      model_list: [...model_list, { model_name: "mini", upstream: "u0", model: "mini" }],
      routing_strategy: strategy,
      fallbacks: [{ "gpt-4o": ["mini"] }],
    }),
    createTestContext({ now: () => clock.now }),
  );
  for (const d of model_list) {
    await instance.router!.feedback!({
      upstream: d.upstream,
      model: d.model,
      deployment: `${d.upstream}/${d.model}`,
      outcome: "success",
      latency_ms: 100 + (d.weight * 37) % 200,
    }, call);
  }
  return { instance, clock };
}

for (const strategy of STRATEGIES.filter((s) => s !== "usage-based-routing-v2")) {
  let ready: ReturnType<typeof setup> | undefined;
  Deno.bench(`route() with 100 deployments: ${strategy}`, { group: "route" }, async () => {
    const { instance, clock } = await (ready ??= setup(strategy));
    clock.now += 1;
    const { routes } = await instance.router!.route(params, call);
    const first = routes[0]!;
    await instance.router!.feedback!({
      upstream: first.upstream,
      model: first.model,
      deployment: first.deployment!,
      outcome: "success",
      latency_ms: 150,
      usage: { prompt_tokens: 400, completion_tokens: 100, total_tokens: 500 },
    }, call);
  });
}
