import assert from "node:assert/strict";
import type { AuthenticateParams } from "@vulpes/contract/capabilities";
import type { PluginInstance } from "@vulpes/contract/plugin";
import { createTestCall, createTestContext } from "@vulpes/contract/testing";
import { configSchema } from "./config.ts";
import { plugin } from "./mod.ts";

const DEMO_KEY = "sk-vulpes-demo";
const WELL_FORMED_DIGEST = "a9b5ab3fc6b3c5fc41b8a8c8e0c2d1aa5b1c1ac8fc1b8f3a34b2b0b5e55c0f6e";

async function digest(text: string): Promise<string> {
  const bytes = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function instance(
  keys: Record<string, unknown>[],
  now = Date.parse("2026-06-01T00:00:00Z"),
  extra: Record<string, unknown> = {},
): Promise<PluginInstance> {
  const config = configSchema.parse({ keys, ...extra });
  return await plugin.create(config, createTestContext({ now: () => now }));
}

function params(
  credentials: AuthenticateParams["credentials"],
  model?: string,
): AuthenticateParams {
  const request: AuthenticateParams["request"] = { method: "POST", path: "/v1/chat/completions" };
  if (model) request.model = model;
  return { credentials, request };
}

async function authenticate(p: PluginInstance, input: AuthenticateParams) {
  return await p.authenticator!.authenticate(input, createTestCall());
}

Deno.test("authenticate() allows a key given by digest, through Bearer and x-api-key", async () => {
  const p = await instance([{
    id: "demo",
    sha256: await digest(DEMO_KEY),
    subject: "alice",
    tenant: "acme",
    groups: ["dev"],
    attributes: { team: "core" },
  }]);
  const expected = {
    decision: "allow",
    identity: {
      subject: "alice",
      tenant: "acme",
      groups: ["dev"],
      key_id: "demo",
      attributes: { team: "core" },
    },
  };
  assert.deepEqual(
    await authenticate(p, params({ authorization: `Bearer ${DEMO_KEY}` })),
    expected,
  );
  assert.deepEqual(
    await authenticate(p, params({ authorization: `bearer   ${DEMO_KEY}` })),
    expected,
  );
  assert.deepEqual(await authenticate(p, params({ api_key: DEMO_KEY })), expected);
});

Deno.test("authenticate() allows a raw key given through a secret", async () => {
  const p = await instance([{ id: "raw", key: "sk-raw-123456", subject: "bot" }]);
  const result = await authenticate(p, params({ api_key: "sk-raw-123456" }));
  assert.equal(result.decision, "allow");
});

Deno.test("authenticate() abstains when no credential or a foreign one is presented", async () => {
  const p = await instance([{ id: "demo", sha256: await digest(DEMO_KEY), subject: "a" }]);
  for (
    const credentials of [
      {},
      { authorization: "Basic dXNlcjpwYXNz" },
      { authorization: "Bearer eyJhbGciOi.jwt.token" },
      { api_key: "other-format-key" },
      { authorization: "   " },
    ]
  ) {
    assert.deepEqual(
      await authenticate(p, params(credentials)),
      { decision: "abstain" },
      JSON.stringify(credentials),
    );
  }
});

Deno.test("authenticate() claims every credential with the empty prefix", async () => {
  const p = await instance(
    [{ id: "demo", sha256: await digest(DEMO_KEY), subject: "a" }],
    undefined,
    {
      prefixes: [""],
    },
  );
  const result = await authenticate(p, params({ api_key: "other-format-key" }));
  assert.deepEqual(result, { decision: "deny", status: 401, reason: "Invalid API key" });
});

Deno.test("authenticate() denies an unknown key without echoing it", async () => {
  const p = await instance([{ id: "demo", sha256: await digest(DEMO_KEY), subject: "a" }]);
  const result = await authenticate(p, params({ authorization: "Bearer sk-guess-0001" }));
  assert.deepEqual(result, { decision: "deny", status: 401, reason: "Invalid API key" });
  assert.ok(!JSON.stringify(result).includes("sk-guess-0001"));
});

Deno.test("authenticate() denies a malformed key of its format", async () => {
  const p = await instance([{ id: "demo", sha256: await digest(DEMO_KEY), subject: "a" }]);
  const long = "sk-" + "a".repeat(600);
  const result = await authenticate(p, params({ api_key: long }));
  assert.equal(result.decision, "deny");
  assert.ok(
    result.decision === "deny" && result.status === 401 && /Malformed API key/.test(result.reason),
  );
  assert.ok(!JSON.stringify(result).includes(long));
});

Deno.test("authenticate() denies an expired key at its expiry instant, not before", async () => {
  const expiry = "2026-06-01T00:00:00Z";
  const key = { id: "temp", sha256: await digest(DEMO_KEY), subject: "a", expires_at: expiry };
  const before = await instance([key], Date.parse(expiry) - 1);
  assert.equal((await authenticate(before, params({ api_key: DEMO_KEY }))).decision, "allow");
  const at = await instance([key], Date.parse(expiry));
  assert.deepEqual(await authenticate(at, params({ api_key: DEMO_KEY })), {
    decision: "deny",
    status: 401,
    reason: 'API key "temp" expired at 2026-06-01T00:00:00.000Z',
  });
});

Deno.test("authenticate() allows only the key's models, with wildcards", async () => {
  const p = await instance([{
    id: "m",
    sha256: await digest(DEMO_KEY),
    subject: "a",
    models: ["gpt-4o*", "text-embedding-3-small"],
  }]);
  assert.equal(
    (await authenticate(p, params({ api_key: DEMO_KEY }, "gpt-4o-mini"))).decision,
    "allow",
  );
  assert.equal(
    (await authenticate(p, params({ api_key: DEMO_KEY }, "text-embedding-3-small"))).decision,
    "allow",
  );
  assert.equal(
    (await authenticate(p, params({ api_key: DEMO_KEY }))).decision,
    "allow",
    "no model: listing models",
  );
  assert.deepEqual(await authenticate(p, params({ api_key: DEMO_KEY }, "gpt-4.1")), {
    decision: "deny",
    status: 403,
    reason: 'API key "m" may not use model "gpt-4.1"',
  });
  assert.equal(
    (await authenticate(p, params({ api_key: DEMO_KEY }, "gpt-4o.x"))).decision,
    "allow",
  );
  assert.equal((await authenticate(p, params({ api_key: DEMO_KEY }, "xgpt-4o"))).decision, "deny");
});

Deno.test("create() refuses two entries that are the same key", async () => {
  const sha = await digest(DEMO_KEY);
  await assert.rejects(
    instance([{ id: "a", sha256: sha, subject: "a" }, { id: "b", key: DEMO_KEY, subject: "b" }]),
    /keys "a" and "b" are the same key/,
  );
});

Deno.test("configSchema refuses a bad digest, both or neither key forms, and duplicate ids", () => {
  const result = configSchema.safeParse({
    keys: [
      { id: "a", sha256: "abc", subject: "a" },
      { id: "b", subject: "b" },
      { id: "a", sha256: WELL_FORMED_DIGEST, key: "sk-x", subject: "c" },
    ],
    extra: 1,
  });
  assert.equal(result.success, false);
  const paths = result.error!.issues.map((issue) => issue.path.join("."));
  assert.ok(paths.includes("keys.0.sha256"), paths.join());
  assert.ok(paths.includes("keys.1"), paths.join());
  assert.ok(paths.includes("keys.2"), paths.join());
  assert.ok(result.error!.issues.some((issue) => issue.code === "unrecognized_keys"));
});

Deno.test("health() counts keys and expired keys", async () => {
  const sha = await digest(DEMO_KEY);
  const p = await instance([
    { id: "old", sha256: sha, subject: "a", expires_at: "2020-01-01T00:00:00Z" },
    { id: "new", sha256: await digest("sk-other-key"), subject: "b" },
  ]);
  assert.deepEqual(await p.health!(), { status: "ok", detail: { keys: 2, expired: 1 } });
});
