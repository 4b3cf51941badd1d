import assert from "node:assert/strict";
import fc from "fast-check";
import { type Caller, compileRules, type RuleConfig } from "../ratelimit-memory/_rules.ts";
import {
  commonKeyFields,
  decodeReservation,
  encodeReservation,
  hashTag,
  type KeyLayout,
  reservationKey,
  windowKey,
} from "./_keys.ts";

function rules(keyBys: RuleConfig["key_by"][]) {
  return compileRules(keyBys.map((key_by, i) => ({
    name: `r${i}`,
    match: {},
    key_by,
    window: "1m",
    requests: 1,
  })));
}

/** The text Redis Cluster hashes: between the first `{` and the first `}` after it. */
function hashedPart(key: string): string {
  const open = key.indexOf("{");
  const close = key.indexOf("}", open + 1);
  assert.ok(open >= 0 && close > open + 1, `${key} has a non-empty hash tag`);
  return key.slice(open + 1, close);
}

Deno.test("commonKeyFields() is the fields every rule keys by, in a fixed order", () => {
  assert.deepEqual(commonKeyFields(rules([["model", "tenant"], ["tenant"]])), ["tenant"]);
  assert.deepEqual(commonKeyFields(rules([["subject", "tenant"], ["tenant", "subject"]])), [
    "tenant",
    "subject",
  ]);
  assert.deepEqual(commonKeyFields(rules([["subject"], ["tenant"]])), []);
  assert.deepEqual(commonKeyFields(rules([["subject"], []])), []);
});

Deno.test("hashTag() is never empty and tells values apart, a missing tenant included", () => {
  const none: KeyLayout = { prefix: "p:", tagFields: [] };
  assert.equal(hashTag(none, { subject: "a", model: "m" }), "*");
  const byTenant: KeyLayout = { prefix: "p:", tagFields: ["tenant"] };
  assert.equal(hashTag(byTenant, { subject: "a", model: "m" }), "-");
  assert.equal(hashTag(byTenant, { subject: "a", tenant: "-", model: "m" }), "1:-");
  assert.equal(hashTag(byTenant, { subject: "a", tenant: "", model: "m" }), "0:");
});

Deno.test("windowKey() and reservationKey() of one request share one hash tag, whatever the values", () => {
  const compiled = rules([["tenant", "subject"], ["tenant"], ["tenant", "model"]]);
  const layout: KeyLayout = { prefix: "vulpes:rl:", tagFields: commonKeyFields(compiled) };
  const value = fc.string({ unit: fc.constantFrom("a", "{", "}", ":", ",", "|", "-") });
  fc.assert(
    fc.property(value, fc.option(value, { nil: undefined }), value, (subject, tenant, model) => {
      const caller: Caller = { subject, tenant, model };
      const keys = [
        ...compiled.map((rule) => windowKey(layout, rule, caller)),
        reservationKey(layout, caller, "n0"),
      ];
      const tags = new Set(keys.map(hashedPart));
      assert.equal(tags.size, 1, keys.join("\n"));
      assert.equal(new Set(keys).size, keys.length);
    }),
  );
});

Deno.test("windowKey() gives distinct keys to distinct rules and values", () => {
  const [a, b] = compileRules([
    { name: "a", match: {}, key_by: ["subject", "model"], window: "1m", requests: 1 },
    { name: "a:", match: {}, key_by: ["subject", "model"], window: "1m", requests: 1 },
  ]);
  const layout: KeyLayout = { prefix: "p:", tagFields: [] };
  assert.equal(
    windowKey(layout, a!, { subject: "alice", tenant: "acme", model: "gpt-4o" }),
    "p:{*}:w:1:a:5:alice|6:gpt-4o|",
  );
  assert.notEqual(
    windowKey(layout, a!, { subject: "x|1:y", model: "z" }),
    windowKey(layout, a!, { subject: "x", model: "y|1:z" }),
  );
  assert.notEqual(
    windowKey(layout, a!, { subject: "x", model: "y" }),
    windowKey(layout, b!, { subject: "x", model: "y" }),
  );
});

Deno.test("decodeReservation() reads back what encodeReservation() wrote", () => {
  fc.assert(
    fc.property(
      fc.string({ minLength: 1 }),
      fc.string(),
      fc.option(fc.string(), { nil: undefined }),
      fc.string(),
      (nonce, subject, tenant, model) => {
        const caller: Caller = tenant === undefined
          ? { subject, model }
          : { subject, tenant, model };
        const id = encodeReservation({ nonce, caller });
        assert.match(id, /^r1\.[A-Za-z0-9_-]+$/);
        assert.deepEqual(decodeReservation(id), { nonce, caller });
      },
    ),
  );
});

Deno.test("decodeReservation() answers null for an id it did not write", () => {
  const json = (value: unknown) => "r1." + btoa(JSON.stringify(value)).replace(/=+$/, "");
  for (
    const id of [
      "",
      "r1.",
      "r1.!!",
      "local.abc.1",
      "r2.WyJuIiwicyIsbnVsbCwibSJd",
      json(["", "s", null, "m"]),
      json(["n", "s", 5, "m"]),
      json(["n", "s", null]),
      json({ nonce: "n" }),
      "r1." + btoa("\xff\xfe"),
    ]
  ) {
    assert.equal(decodeReservation(id), null, id);
  }
  assert.deepEqual(decodeReservation(json(["n", "s", null, "m"])), {
    nonce: "n",
    caller: { subject: "s", model: "m" },
  });
});
