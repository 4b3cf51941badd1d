import assert from "node:assert/strict";
import { decide, globMatch, type KeyRow, parseCredential, sha256Hex } from "./_keys.ts";

const row: KeyRow = {
  id: "k1",
  prefix: "sk-abcdefgh",
  subject: "alice",
  tenant: null,
  groups: [],
  models: null,
  expires_at: null,
  revoked_at: null,
  metadata: {},
};
const NOW = Date.parse("2026-06-01T00:00:00Z");
const params = (model?: string) => ({
  credentials: {},
  request: { method: "POST", path: "/v1/chat/completions", ...(model ? { model } : {}) },
});

Deno.test("parseCredential() abstains on foreign credentials", () => {
  for (
    const credentials of [
      {},
      { authorization: "Basic dXNlcjpwYXNz" },
      { authorization: "Bearer pk-other" },
      { api_key: "   " },
    ]
  ) {
    assert.deepEqual(parseCredential(credentials, ["sk-"]), { kind: "abstain" });
  }
});

Deno.test("parseCredential() prefers the Bearer token and hashes it", () => {
  const parsed = parseCredential(
    { authorization: "bearer  sk-one ", api_key: "sk-two" },
    ["sk-"],
  );
  assert.deepEqual(parsed, { kind: "lookup", digest: sha256Hex("sk-one") });
  assert.deepEqual(parseCredential({ api_key: "sk-two" }, ["sk-"]), {
    kind: "lookup",
    digest: sha256Hex("sk-two"),
  });
});

Deno.test("parseCredential() denies over-long keys and keys with spaces, without echoing them", () => {
  for (const key of ["sk-" + "a".repeat(600), "sk-a b", "sk-a\u0000b"]) {
    const parsed = parseCredential({ api_key: key }, ["sk-"]);
    assert.equal(parsed.kind, "deny");
    if (parsed.kind !== "deny" || parsed.result.decision !== "deny") throw new Error("deny");
    assert.equal(parsed.result.status, 401);
    assert.match(parsed.result.reason, /^Malformed API key: /);
    assert.ok(!parsed.result.reason.includes(key));
  }
});

Deno.test("sha256Hex() matches sha256sum", () => {
  assert.equal(
    sha256Hex("sk-vulpes-demo"),
    "d5e9709b188358a5365475eca27bbd8a252947e816d673207237cc3672d33ebc",
  );
});

Deno.test("decide() denies unknown, revoked and expired keys, and forbidden models", () => {
  assert.deepEqual(decide(null, params(), NOW), {
    decision: "deny",
    status: 401,
    reason: "Invalid API key",
  });
  const revoked = { ...row, revoked_at: new Date(NOW - 1) };
  assert.match((decide(revoked, params(), NOW) as { reason: string }).reason, /"k1" was revoked/);
  // A revocation scheduled for later does not apply yet.
  assert.equal(decide({ ...row, revoked_at: new Date(NOW + 1) }, params(), NOW).decision, "allow");
  const expired = { ...row, expires_at: new Date(NOW) };
  assert.deepEqual(decide(expired, params(), NOW), {
    decision: "deny",
    status: 401,
    reason: 'API key "k1" expired at 2026-06-01T00:00:00.000Z',
  });
  const limited = { ...row, models: ["gpt-4o*"] };
  assert.equal(decide(limited, params("gpt-4o-mini"), NOW).decision, "allow");
  assert.equal(decide(limited, params(), NOW).decision, "allow");
  assert.deepEqual(decide(limited, params("o3"), NOW), {
    decision: "deny",
    status: 403,
    reason: 'API key "k1" may not use model "o3"',
  });
});

Deno.test("decide() allows with the row's identity; metadata becomes attributes", () => {
  const full = { ...row, tenant: "acme", groups: ["dev"], metadata: { team: "core" } };
  assert.deepEqual(decide(full, params(), NOW), {
    decision: "allow",
    identity: {
      subject: "alice",
      tenant: "acme",
      groups: ["dev"],
      key_id: "k1",
      attributes: { team: "core" },
    },
  });
});

Deno.test("globMatch() treats only * as special", () => {
  assert.ok(globMatch("gpt-4o*", "gpt-4o-mini"));
  assert.ok(!globMatch("gpt-4o*", "xgpt-4o"));
  assert.ok(!globMatch("gpt.4", "gpt-4"));
  assert.ok(globMatch("*", "anything"));
});
