/**
 * Route decisions of router-weighted: the pure lookup and ordering (`resolveModel` +
 * `routesFor`) per strategy with 3 and 100 targets, name resolution through an alias and
 * through 50 patterns, and the whole `router.route` handler of mod.ts.
 *
 * @module
 */

import { createTestCall, createTestContext } from "@vulpes/contract/testing";
import { compileTable, resolveModel, routesFor } from "./_routing.ts";
import { configSchema, STRATEGIES } from "./config.ts";
import { plugin } from "./mod.ts";

function targets(count: number, weighted: boolean) {
  return Array.from({ length: count }, (_, i) => ({
    upstream: `u${i % 10}`,
    model: `m-${i}`,
    ...(weighted ? { weight: 1 + (i % 5) } : {}),
  }));
}

const config = configSchema.parse({
  models: {
    ...Object.fromEntries(STRATEGIES.flatMap((strategy) =>
      [3, 100].map((n) => [
        `${strategy}-${n}`,
        { strategy, targets: targets(n, strategy === "weighted") },
      ])
    )),
    // 50 patterns, none of which matches "zzz-…" before the last.
    ...Object.fromEntries(
      Array.from({ length: 50 }, (_, i) => [`family-${i}-*`, { targets: targets(1, false) }]),
    ),
    "zzz-*": { targets: targets(1, false) },
  },
  aliases: { default: "weighted-3" },
});
const table = compileTable(config);
const random = Math.random;

for (const strategy of STRATEGIES) {
  for (const n of [3, 100]) {
    const resolved = resolveModel(table, `${strategy}-${n}`)!;
    Deno.bench(`routesFor() ${strategy}, ${n} targets`, { group: `${n} targets` }, () => {
      routesFor(resolved, random);
    });
  }
}

Deno.bench("resolveModel() exact name", { group: "resolve" }, () => {
  resolveModel(table, "weighted-3");
});

Deno.bench("resolveModel() alias", { group: "resolve" }, () => {
  resolveModel(table, "default");
});

Deno.bench("resolveModel() through 50 patterns", { group: "resolve" }, () => {
  resolveModel(table, "zzz-large-model-2026");
});

const call = createTestCall();
const params = {
  model: "weighted-3",
  identity: { tenant: "acme", groups: ["eng"] },
  request: { stream: false, estimated_tokens: 120 },
};
let instance: ReturnType<typeof plugin.create> | undefined;

Deno.bench("router.route handler, weighted, 3 targets", { group: "handler" }, async () => {
  const { router } = await (instance ??= plugin.create(config, createTestContext()));
  await router!.route(params, call);
});
