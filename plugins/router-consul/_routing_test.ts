import assert from "node:assert/strict";
import { createTestContext } from "@vulpes/contract/testing";
import { type Instance, parseModels } from "./_consul.ts";
import {
  freshnessOf,
  healthOf,
  notServedMessage,
  poolOf,
  routesFor,
  servedModels,
  unavailableMessage,
} from "./_routing.ts";
import type { WatchState } from "./_watch.ts";

function instance(id: string, models: string, weight = 1, node = "node-1"): Instance {
  return {
    id,
    node,
    service: "vllm",
    baseUrl: `http://${id}.internal:8000/v1`,
    weight,
    status: "passing",
    models: parseModels(models),
  };
}

function state(service: string, fields: Partial<WatchState> = {}): WatchState {
  return {
    service,
    instances: [],
    skipped: [],
    index: 7,
    lastSuccessAt: 1000,
    lastError: null,
    failingSince: null,
    failures: 0,
    ...fields,
  };
}

Deno.test("routesFor() returns every instance serving the model as a route with its base_url", () => {
  const instances = [
    instance("a", "gpt-4o, llama=meta-llama/Llama-3.1-8B"),
    instance("b", "gpt-4o-mini"),
    instance("c", "*"),
  ];
  const routes = routesFor(instances, "llama", "vllm-pool", () => 0);
  assert.deepEqual(routes, [
    {
      upstream: "vllm-pool",
      model: "meta-llama/Llama-3.1-8B",
      deployment: "a",
      options: { base_url: "http://a.internal:8000/v1" },
    },
    {
      upstream: "vllm-pool",
      model: "llama",
      deployment: "c",
      options: { base_url: "http://c.internal:8000/v1" },
    },
  ]);
  assert.deepEqual(routesFor(instances, "gpt-4o-mini", "u", () => 0).map((r) => r.deployment), [
    "b",
    "c",
  ]);
  assert.deepEqual(routesFor([instances[0]!], "nothing", "u", () => 0), []);
});

Deno.test("routesFor() names deployments <node>/<id> when an id is routable on several nodes", () => {
  const routes = routesFor(
    [instance("vllm", "m", 1, "n1"), instance("vllm", "m", 1, "n2"), instance("solo", "m")],
    "m",
    "u",
    () => 0,
  );
  assert.deepEqual(routes.map((r) => r.deployment), ["n1/vllm", "n2/vllm", "solo"]);
});

Deno.test("routesFor() orders by weight with the context's seeded random source", () => {
  const instances = [instance("light", "m", 1), instance("heavy", "m", 3)];
  const { random } = createTestContext();
  let heavyFirst = 0;
  const draws = 4000;
  for (let i = 0; i < draws; i++) {
    const routes = routesFor(instances, "m", "u", random);
    assert.deepEqual(routes.map((r) => r.deployment).sort(), ["heavy", "light"]);
    if (routes[0]!.deployment === "heavy") heavyFirst++;
  }
  // 75% expected; the seeded source gives the same count every run.
  assert.ok(Math.abs(heavyFirst / draws - 0.75) < 0.03, `heavy first ${heavyFirst} of ${draws}`);
  const again = createTestContext().random;
  const first = routesFor(instances, "m", "u", again).map((r) => r.deployment);
  assert.deepEqual(
    first,
    routesFor(instances, "m", "u", createTestContext().random).map((r) => r.deployment),
  );
});

Deno.test("freshnessOf() and poolOf() keep a stale set until max_stale, then drop it", () => {
  const fresh = state("a", { instances: [instance("a1", "m")] });
  const failing = state("b", {
    instances: [instance("b1", "n")],
    lastError: "down",
    failingSince: 1000,
  });
  const never = state("c", { lastSuccessAt: null, lastError: "refused" });
  assert.equal(freshnessOf(fresh, 999_999, 100), "fresh");
  assert.equal(freshnessOf(failing, 1100, 100), "stale");
  assert.equal(freshnessOf(failing, 1101, 100), "expired");
  assert.equal(freshnessOf(never, 1000, 100), "unknown");
  const early = poolOf([fresh, failing, never], 1050, 100);
  assert.deepEqual(early.instances.map((i) => i.id), ["a1", "b1"]);
  assert.deepEqual(early.missing, [{ service: "c", freshness: "unknown", lastError: "refused" }]);
  const late = poolOf([fresh, failing], 5000, 100);
  assert.deepEqual(late.instances.map((i) => i.id), ["a1"]);
  assert.deepEqual(late.missing, [{ service: "b", freshness: "expired", lastError: "down" }]);
});

Deno.test("healthOf() is ok when fresh, degraded while stale, unavailable after max_stale", () => {
  const instances = [instance("a1", "m, n")];
  const ok = healthOf([state("vllm", { instances })], 5000, 100);
  assert.deepEqual(ok, {
    status: "ok",
    detail: {
      instances: 1,
      models: 2,
      services: { vllm: { freshness: "fresh", instances: 1, skipped: 0, index: 7 } },
    },
  });
  const failing = state("vllm", {
    instances,
    lastError: "Consul answered: HTTP 500",
    failingSince: 1000,
    index: 0,
  });
  const degraded = healthOf([failing], 1040, 100);
  assert.equal(degraded.status, "degraded");
  assert.equal(degraded.detail?.stale_for_ms, 40);
  assert.equal(degraded.detail?.last_error, "Consul answered: HTTP 500");
  assert.equal(degraded.detail?.instances, 1);
  const unavailable = healthOf([failing], 1200, 100);
  assert.equal(unavailable.status, "unavailable");
  assert.equal(unavailable.detail?.stale_for_ms, 200);
  assert.equal(unavailable.detail?.instances, 0);
  const never = healthOf([state("vllm", { lastSuccessAt: null, lastError: "refused" })], 0, 100);
  assert.deepEqual([never.status, never.detail?.stale_for_ms, never.detail?.last_error], [
    "unavailable",
    null,
    "refused",
  ]);
});

Deno.test("freshnessOf() counts max_stale from the first failure, not from the last answer", () => {
  // A blocking query held for 50 s vouched for the set until Consul went away at 1050.
  const failing = state("vllm", { lastSuccessAt: 1000, failingSince: 51_000, lastError: "reset" });
  assert.equal(freshnessOf(failing, 51_090, 100), "stale");
  assert.equal(freshnessOf(failing, 51_101, 100), "expired");
  assert.equal(healthOf([failing], 51_090, 100).detail?.stale_for_ms, 90);
});

Deno.test("healthOf() is degraded while another service still has usable instances", () => {
  const health = healthOf(
    [
      state("a", { instances: [instance("a1", "m")] }),
      state("b", { lastError: "gone", lastSuccessAt: 5, failingSince: 10 }),
      state("c", { lastError: "slow", failingSince: 900 }),
    ],
    1000,
    100,
  );
  assert.equal(health.status, "degraded");
  assert.equal(health.detail?.stale_for_ms, 990);
  assert.equal(health.detail?.last_error, "gone");
});

Deno.test("servedModels() lists public names sorted, and the messages name what is missing", () => {
  const instances = [instance("a", "b-model, a-model=x, *"), instance("b", "a-model")];
  assert.deepEqual(servedModels(instances), ["a-model", "b-model"]);
  assert.equal(
    notServedMessage("llama", ["a", "b"]),
    'Model "llama" is not served; served models: a, b',
  );
  assert.equal(notServedMessage("x", []), 'Model "x" is not served; served models: none');
  const many = Array.from({ length: 52 }, (_, i) => `m${String(i).padStart(2, "0")}`);
  assert.match(notServedMessage("x".repeat(300), many), /^Model "x{200}…" .* m49 and 2 more$/);
  assert.equal(
    unavailableMessage("m", [
      { service: "a", freshness: "unknown", lastError: null },
      { service: "b", freshness: "expired", lastError: "x" },
    ]),
    'Cannot route model "m": service "a" has not been read from Consul yet; the last known instances of service "b" are older than max_stale_ms',
  );
});
