import assert from "node:assert/strict";
import fc from "fast-check";
import { type Caller, compilePattern, compileRules, parseWindow, windowProblem } from "./_rules.ts";

Deno.test("parseWindow() reads a whole number and one unit", () => {
  assert.equal(parseWindow("500ms"), 500);
  assert.equal(parseWindow("1s"), 1_000);
  assert.equal(parseWindow("1m"), 60_000);
  assert.equal(parseWindow("90m"), 5_400_000);
  assert.equal(parseWindow("1h"), 3_600_000);
  assert.equal(parseWindow("1d"), 86_400_000);
  assert.equal(parseWindow("31d"), 31 * 86_400_000);
});

Deno.test("parseWindow() refuses anything else", () => {
  for (
    const text of [
      "",
      "1",
      "m",
      "0s",
      "01m",
      "1.5m",
      "-1s",
      "1 m",
      " 1m",
      "1m ",
      "1M",
      "1min",
      "1w",
      "1h30m",
      "32d",
      "99999999999s",
    ]
  ) {
    assert.equal(parseWindow(text), null, JSON.stringify(text));
    assert.ok(windowProblem(text), JSON.stringify(text));
  }
  assert.match(windowProblem("32d")!, /at most 31d, received "32d"/);
  assert.match(windowProblem("1.5m")!, /like "500ms", "1s", "1m", "1h" or "1d".*received "1\.5m"/);
});

Deno.test("compilePattern() matches exactly, or any run of characters at *", () => {
  assert.ok(compilePattern("gpt-4o")("gpt-4o"));
  assert.ok(!compilePattern("gpt-4o")("gpt-4o-mini"));
  assert.ok(compilePattern("gpt-*")("gpt-"));
  assert.ok(compilePattern("gpt-*")("gpt-4o-mini"));
  assert.ok(!compilePattern("gpt-*")("xgpt-4o"));
  assert.ok(compilePattern("*-mini")("gpt-4o-mini"));
  assert.ok(compilePattern("a*b*c")("a\nbc"));
  assert.ok(!compilePattern("a.b")("axb"), "a dot is a dot");
  assert.ok(compilePattern("*")(""));
});

Deno.test("compilePattern() agrees with a reference matcher on random patterns", () => {
  fc.assert(
    fc.property(
      fc.stringMatching(/^[ab*.]{0,6}$/),
      fc.stringMatching(/^[ab.]{0,8}$/),
      (pattern, value) => {
        const reference = new RegExp(
          `^${pattern.split("*").map((p) => p.replaceAll(".", "\\.")).join(".*")}$`,
        );
        assert.equal(compilePattern(pattern)(value), reference.test(value));
      },
    ),
  );
});

Deno.test("Rule.matches() needs every field set to match; absent tenant fails a tenant match", () => {
  const [rule] = compileRules([{
    name: "r",
    match: { tenant: "acme*", model: "gpt-*" },
    key_by: [],
    window: "1m",
    requests: 1,
  }]);
  const caller: Caller = { subject: "alice", tenant: "acme-eu", model: "gpt-4o" };
  assert.ok(rule!.matches(caller));
  assert.ok(!rule!.matches({ ...caller, model: "o1" }));
  assert.ok(!rule!.matches({ subject: "alice", model: "gpt-4o" }));
  const [any] = compileRules([{ name: "a", match: {}, key_by: [], window: "1m", requests: 1 }]);
  assert.ok(any!.matches({ subject: "x", model: "y" }));
});

Deno.test("Rule.matches() on group matches any of the caller's groups", () => {
  const [rule] = compileRules([{
    name: "r",
    match: { group: "team-*" },
    key_by: [],
    window: "1m",
    requests: 1,
  }]);
  assert.ok(rule!.matches({ subject: "a", model: "m", groups: ["x", "team-a"] }));
  assert.ok(!rule!.matches({ subject: "a", model: "m", groups: ["x"] }));
  assert.ok(!rule!.matches({ subject: "a", model: "m" }));
});

Deno.test("Rule.keyOf() gives distinct keys to distinct values, whatever they contain", () => {
  const [a, b] = compileRules([
    { name: "a", match: {}, key_by: ["subject", "model"], window: "1m", requests: 1 },
    { name: "b", match: {}, key_by: ["subject", "model"], window: "1m", requests: 1 },
  ]);
  assert.notEqual(
    a!.keyOf({ subject: "x|1:y", model: "z" }),
    a!.keyOf({ subject: "x", model: "y|1:z" }),
  );
  assert.notEqual(a!.keyOf({ subject: "x", model: "y" }), b!.keyOf({ subject: "x", model: "y" }));
  fc.assert(
    fc.property(fc.string(), fc.string(), fc.string(), fc.string(), (s1, m1, s2, m2) => {
      const same = s1 === s2 && m1 === m2;
      assert.equal(
        a!.keyOf({ subject: s1, model: m1 }) === a!.keyOf({ subject: s2, model: m2 }),
        same,
      );
    }),
  );
});

Deno.test("Rule.keyOf() puts requests without a tenant in one window of their own", () => {
  const [rule] = compileRules([{
    name: "t",
    match: {},
    key_by: ["tenant"],
    window: "1m",
    requests: 1,
  }]);
  assert.equal(
    rule!.keyOf({ subject: "a", model: "m" }),
    rule!.keyOf({ subject: "b", model: "n" }),
  );
  assert.notEqual(
    rule!.keyOf({ subject: "a", model: "m" }),
    rule!.keyOf({ subject: "a", tenant: "-", model: "m" }),
  );
});
