import assert from "node:assert/strict";
import fc from "fast-check";
import { type Candidate, latencyScore, orderCandidates, shuffleWeights } from "./_strategies.ts";
import { newState } from "./_state.ts";

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

function candidate(id: string, fields: Partial<Candidate> = {}): Candidate {
  return { id, cost: Infinity, state: newState(), ...fields };
}

/** How often each id comes first over `draws` orderings. */
function firsts(draws: number, order: () => Candidate[]): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i < draws; i++) {
    const id = order()[0]!.id;
    out.set(id, (out.get(id) ?? 0) + 1);
  }
  return out;
}

/** Pearson's chi-square statistic of first-pick counts against expected shares. */
function chiSquare(observed: Map<string, number>, expected: Record<string, number>, n: number) {
  let statistic = 0;
  for (const [id, p] of Object.entries(expected)) {
    statistic += ((observed.get(id) ?? 0) - n * p) ** 2 / (n * p);
  }
  return statistic;
}

const INPUT = { stream: false, latencyBuffer: 0 };

Deno.test("orderCandidates() simple-shuffle picks first by weight (seeded, chi-square)", () => {
  const random = seeded(42);
  const candidates = [
    candidate("a", { weight: 1 }),
    candidate("b", { weight: 3 }),
    candidate("c", { weight: 6 }),
  ];
  const n = 20_000;
  const counts = firsts(
    n,
    () => orderCandidates("simple-shuffle", candidates, { ...INPUT, random }),
  );
  // 2 degrees of freedom: 13.8 is the 0.999 quantile.
  assert.ok(chiSquare(counts, { a: 0.1, b: 0.3, c: 0.6 }, n) < 13.8, JSON.stringify([...counts]));
});

Deno.test("orderCandidates() simple-shuffle weighs by rpm, then tpm, without weight", () => {
  assert.deepEqual(
    shuffleWeights([candidate("a", { rpm: 100, tpm: 5 }), candidate("b", { rpm: 300 })]),
    [100, 300],
  );
  assert.deepEqual(shuffleWeights([candidate("a", { tpm: 10 }), candidate("b", { tpm: 30 })]), [
    10,
    30,
  ]);
  // No limit weighs as much as the largest limit; weight wins over rpm; missing weight is 1.
  assert.deepEqual(shuffleWeights([candidate("a", { rpm: 10 }), candidate("b")]), [10, 10]);
  assert.deepEqual(shuffleWeights([candidate("a", { rpm: 10, weight: 2 }), candidate("b")]), [
    2,
    1,
  ]);
  assert.deepEqual(shuffleWeights([candidate("a"), candidate("b")]), [1, 1]);
  const random = seeded(7);
  const n = 10_000;
  const counts = firsts(
    n,
    () =>
      orderCandidates("simple-shuffle", [
        candidate("a", { rpm: 100 }),
        candidate("b", { rpm: 300 }),
      ], {
        ...INPUT,
        random,
      }),
  );
  assert.ok(chiSquare(counts, { a: 0.25, b: 0.75 }, n) < 10.8, JSON.stringify([...counts]));
});

Deno.test("orderCandidates() least-busy orders by in-flight count and shares ties evenly", () => {
  const busy = candidate("busy");
  busy.state.tickets.push({ at: 0, minute: 0, tokens: 1 }, { at: 0, minute: 0, tokens: 1 });
  const one = candidate("one");
  one.state.tickets.push({ at: 0, minute: 0, tokens: 1 });
  const idle1 = candidate("idle1");
  const idle2 = candidate("idle2");
  const random = seeded(1);
  const n = 4000;
  const counts = firsts(
    n,
    () => orderCandidates("least-busy", [busy, one, idle1, idle2], { ...INPUT, random }),
  );
  assert.deepEqual([...counts.keys()].sort(), ["idle1", "idle2"]);
  assert.ok(chiSquare(counts, { idle1: 0.5, idle2: 0.5 }, n) < 10.8, JSON.stringify([...counts]));
  const order = orderCandidates("least-busy", [busy, one, idle1], { ...INPUT, random });
  assert.deepEqual(order.map((c) => c.id), ["idle1", "one", "busy"]);
});

Deno.test("orderCandidates() latency-based-routing prefers the fastest, untried first", () => {
  const fast = candidate("fast");
  fast.state.latency.push({ at: 0, ms: 100 }, { at: 0, ms: 140 });
  const slow = candidate("slow");
  slow.state.latency.push({ at: 0, ms: 900 });
  const fresh = candidate("fresh");
  const random = seeded(3);
  assert.deepEqual(
    orderCandidates("latency-based-routing", [slow, fast, fresh], { ...INPUT, random })
      .map((c) => c.id),
    ["fresh", "fast", "slow"],
  );
  assert.deepEqual(
    orderCandidates("latency-based-routing", [slow, fast], { ...INPUT, random }).map((c) => c.id),
    ["fast", "slow"],
  );
});

Deno.test("orderCandidates() latency-based-routing ranks streams by time to first token", () => {
  const a = candidate("a");
  a.state.latency.push({ at: 0, ms: 200 });
  a.state.ttft.push({ at: 0, ms: 90 });
  const b = candidate("b");
  b.state.latency.push({ at: 0, ms: 100 });
  b.state.ttft.push({ at: 0, ms: 60 });
  const c = candidate("c");
  c.state.latency.push({ at: 0, ms: 50 }); // no TTFT yet: its latency stands in
  assert.equal(latencyScore(c.state, true), 50);
  const random = seeded(9);
  assert.deepEqual(
    orderCandidates("latency-based-routing", [a, b, c], { stream: true, latencyBuffer: 0, random })
      .map((x) => x.id),
    ["c", "b", "a"],
  );
  assert.deepEqual(
    orderCandidates("latency-based-routing", [a, b, c], { stream: false, latencyBuffer: 0, random })
      .map((x) => x.id),
    ["c", "b", "a"],
  );
  const [first] = orderCandidates("latency-based-routing", [a, b], {
    stream: true,
    latencyBuffer: 0,
    random,
  });
  assert.equal(first!.id, "b");
});

Deno.test("orderCandidates() latency buffer shares load among near-equal deployments only", () => {
  const a = candidate("a");
  a.state.latency.push({ at: 0, ms: 100 });
  const b = candidate("b");
  b.state.latency.push({ at: 0, ms: 115 });
  const c = candidate("c");
  c.state.latency.push({ at: 0, ms: 300 });
  const random = seeded(11);
  const n = 4000;
  const counts = firsts(
    n,
    () =>
      orderCandidates("latency-based-routing", [a, b, c], {
        stream: false,
        latencyBuffer: 0.2,
        random,
      }),
  );
  assert.deepEqual([...counts.keys()].sort(), ["a", "b"]);
  assert.ok(chiSquare(counts, { a: 0.5, b: 0.5 }, n) < 10.8, JSON.stringify([...counts]));
  const none = firsts(
    500,
    () =>
      orderCandidates("latency-based-routing", [a, b, c], {
        stream: false,
        latencyBuffer: 0,
        random,
      }),
  );
  assert.deepEqual([...none], [["a", 500]]);
});

Deno.test("orderCandidates() usage-based-routing prefers the lowest tokens this minute", () => {
  const heavy = candidate("heavy");
  heavy.state.tpm = 5000;
  const light = candidate("light");
  light.state.tpm = 100;
  const random = seeded(5);
  assert.deepEqual(
    orderCandidates("usage-based-routing", [heavy, light], { ...INPUT, random }).map((c) => c.id),
    ["light", "heavy"],
  );
  assert.deepEqual(
    orderCandidates("usage-based-routing-v2", [heavy, light], { ...INPUT, random })
      .map((c) => c.id),
    ["light", "heavy"],
  );
});

Deno.test("orderCandidates() cost-based-routing prefers the cheapest, unknown cost last", () => {
  const random = seeded(13);
  const order = orderCandidates("cost-based-routing", [
    candidate("unknown"),
    candidate("dear", { cost: 0.00003 }),
    candidate("cheap", { cost: 0.000001 }),
  ], { ...INPUT, random });
  assert.deepEqual(order.map((c) => c.id), ["cheap", "dear", "unknown"]);
  const n = 2000;
  const tie = firsts(n, () =>
    orderCandidates("cost-based-routing", [
      candidate("x", { cost: 1 }),
      candidate("y", { cost: 1 }),
    ], { ...INPUT, random }));
  assert.ok(chiSquare(tie, { x: 0.5, y: 0.5 }, n) < 10.8, JSON.stringify([...tie]));
});

Deno.test("orderCandidates() returns a permutation of its input for every strategy", () => {
  const strategies = [
    "simple-shuffle",
    "least-busy",
    "latency-based-routing",
    "usage-based-routing",
    "cost-based-routing",
  ] as const;
  fc.assert(
    fc.property(
      fc.constantFrom(...strategies),
      fc.array(fc.record({ weight: fc.option(fc.double({ min: 0.001, max: 100, noNaN: true })) }), {
        minLength: 1,
        maxLength: 20,
      }),
      fc.integer(),
      (strategy, specs, seed) => {
        const candidates = specs.map((spec, i) =>
          candidate(String(i), spec.weight === null ? {} : { weight: spec.weight })
        );
        const order = orderCandidates(strategy, candidates, { ...INPUT, random: seeded(seed) });
        assert.deepEqual(order.map((c) => c.id).sort(), candidates.map((c) => c.id).sort());
      },
    ),
  );
});

Deno.test("orderCandidates() survives a random source that strays out of [0, 1)", () => {
  const values = [1, -0.5, NaN, 0.999999];
  let i = 0;
  const random = () => values[i++ % values.length]!;
  const order = orderCandidates("simple-shuffle", [candidate("a"), candidate("b")], {
    ...INPUT,
    random,
  });
  assert.equal(order.length, 2);
});
