import assert from "node:assert/strict";
import { createHash } from "node:crypto";
// @ts-types="npm:@types/pg@^8"
import pg from "pg";
import { authenticatorClient, checkHealth, PluginProcess } from "@vulpes/contract/host";
import type { AuthenticateResult } from "@vulpes/contract/capabilities";
import { PluginError } from "@vulpes/contract/protocol";
import { startPostgres } from "@vulpes/contract/testing";
import { assertConfigRefused, assertConformant, pluginBinary } from "../../tests/_support.ts";

const BINARY = pluginBinary("authn-postgres-api-key");
const request = { method: "POST", path: "/v1/chat/completions", model: "gpt-4o-mini" };

/** Runs `bin/authn-postgres-api-key keys …` with the URL in VULPES_PG_URL. */
async function keys(url: string, ...args: string[]) {
  const output = await new Deno.Command(BINARY, {
    args: ["keys", ...args],
    env: { VULPES_PG_URL: url },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  const stdout = decoder.decode(output.stdout);
  return {
    code: output.code,
    stderr: decoder.decode(output.stderr),
    stdout,
    rows: stdout.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line)),
  };
}

async function createKey(url: string, ...args: string[]): Promise<{ id: string; key: string }> {
  const result = await keys(url, "create", ...args);
  assert.equal(result.code, 0, result.stderr);
  return result.rows[0];
}

async function start(
  url: string,
  extra: Record<string, unknown> = {},
  logs: Record<string, unknown>[] = [],
): Promise<PluginProcess> {
  return await PluginProcess.start({
    command: BINARY,
    instance: "pg-keys",
    capabilities: ["authenticator"],
    config: { database_url: url, ...extra },
    onLog: (record) => logs.push(record),
    restart: false,
  });
}

function authenticate(plugin: PluginProcess, key: string, model = request.model) {
  return authenticatorClient(plugin).authenticate({
    credentials: { authorization: `Bearer ${key}` },
    request: { ...request, model },
  });
}

/** Polls until `check` holds or `ms` pass; returns how long it took. */
async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < ms) {
    if (await check().catch(() => false)) return performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`Condition not met within ${ms} ms`);
}

Deno.test("bin/authn-postgres-api-key manages keys, authenticates, and revokes on every instance", async (t) => {
  const db = await startPostgres({ database: "gateway" });
  try {
    await t.step(
      "keys migrate applies each migration once, also when run concurrently",
      async () => {
        const runs = await Promise.all([keys(db.url, "migrate"), keys(db.url, "migrate")]);
        assert.deepEqual(runs.map((r) => r.code), [0, 0]);
        const applied = runs.flatMap((r) => r.rows[0].applied).sort();
        assert.deepEqual(applied, [1, 2]);
        assert.deepEqual((await keys(db.url, "migrate")).rows, [{ applied: [] }]);
      },
    );

    await t.step("passes the conformance check", async () => {
      await assertConformant(BINARY, { config: { database_url: db.url } });
    });

    const logs: Record<string, unknown>[] = [];
    const plugins: PluginProcess[] = [];
    try {
      const first = await start(db.url, { auto_migrate: true }, logs);
      plugins.push(first);
      const second = await start(db.url, { cache_ttl_ms: 600_000 }, logs);
      plugins.push(second);
      const alice = await createKey(
        db.url,
        "--subject=alice",
        "--tenant=acme",
        "--group=dev",
        "--model=gpt-4o*",
        '--metadata={"team":"core"}',
        "--id=alice-1",
      );

      await t.step("create prints the key once and stores only its digest", async () => {
        assert.match(alice.key, /^sk-[A-Za-z0-9_-]{43}$/);
        const listed = await keys(db.url, "list");
        assert.equal(listed.code, 0);
        assert.equal(listed.rows.length, 1);
        assert.equal(listed.rows[0].id, "alice-1");
        assert.equal(listed.rows[0].prefix, alice.key.slice(0, 11));
        assert.ok(!listed.stdout.includes(alice.key));
      });

      await t.step("allows the key, with the identity of its row", async () => {
        assert.deepEqual(await authenticate(first, alice.key), {
          decision: "allow",
          identity: {
            subject: "alice",
            tenant: "acme",
            groups: ["dev"],
            key_id: "alice-1",
            attributes: { team: "core" },
          },
        });
        assert.equal((await authenticate(second, alice.key)).decision, "allow");
      });

      await t.step("denies a model the key may not use, an unknown key, and abstains", async () => {
        assert.deepEqual(await authenticate(first, alice.key, "claude-3"), {
          decision: "deny",
          status: 403,
          reason: 'API key "alice-1" may not use model "claude-3"',
        });
        assert.deepEqual(await authenticate(first, "sk-unknown-key"), {
          decision: "deny",
          status: 401,
          reason: "Invalid API key",
        });
        const basic = await authenticatorClient(first).authenticate({
          credentials: { authorization: "Basic dXNlcjpwYXNz" },
          request,
        });
        assert.deepEqual(basic, { decision: "abstain" });
      });

      await t.step("denies an expired key", async () => {
        const old = await createKey(db.url, "--subject=bob", "--expires-at=2020-01-01T00:00:00Z");
        const result = await authenticate(first, old.key);
        assert.deepEqual(result, {
          decision: "deny",
          status: 401,
          reason: `API key "${old.id}" expired at 2020-01-01T00:00:00.000Z`,
        });
      });

      await t.step(
        "a key inserted after a negative lookup is allowed at once (NOTIFY)",
        async () => {
          const key = "sk-inserted-by-sql-0123456789";
          assert.equal((await authenticate(second, key)).decision, "deny"); // cached as unknown
          const client = new pg.Client({ connectionString: db.url });
          await client.connect();
          try {
            await client.query(
              `INSERT INTO vulpes.api_keys (id, digest, prefix, subject) VALUES ('sql-1', $1, 'sk-inser', 'sql')`,
              [createHash("sha256").update(key).digest()],
            );
          } finally {
            await client.end();
          }
          await within(1_000, async () => (await authenticate(second, key)).decision === "allow");
        },
      );

      await t.step("revoke is seen by a second running instance within 1 s", async () => {
        assert.equal((await authenticate(second, alice.key)).decision, "allow"); // cached
        const revoked = await keys(db.url, "revoke", "alice-1");
        assert.equal(revoked.code, 0, revoked.stderr);
        const took = await within(1_000, async () => {
          const result: AuthenticateResult = await authenticate(second, alice.key);
          return result.decision === "deny" && /was revoked/.test(result.reason);
        });
        assert.ok(took < 1_000);
        assert.equal((await authenticate(first, alice.key)).decision, "deny");
      });

      await t.step("writes last_used_at in batches (flushed at shutdown)", async () => {
        const user = await createKey(db.url, "--subject=carol");
        assert.equal((await authenticate(first, user.key)).decision, "allow");
        await first.shutdown();
        const [row] = (await keys(db.url, "list", "--subject=carol")).rows;
        assert.ok(row.last_used_at !== null, "last_used_at is set after the flush");
      });

      await t.step("never logs the database URL or a key", () => {
        const text = JSON.stringify(logs);
        assert.ok(logs.some((record) => record.msg === "initialized"));
        assert.ok(!text.includes(new URL(db.url).password));
        assert.ok(!text.includes(alice.key));
      });
    } finally {
      await Promise.all(plugins.map((plugin) => plugin.shutdown()));
    }

    await t.step(
      "keys commands refuse a missing URL and unknown ids, without echoing",
      async () => {
        const missing = await new Deno.Command(BINARY, { args: ["keys", "list"], env: {} })
          .output();
        assert.equal(missing.code, 2);
        assert.match(new TextDecoder().decode(missing.stderr), /set VULPES_PG_URL/);
        const unknown = await keys(db.url, "revoke", "nope");
        assert.equal(unknown.code, 1);
        assert.match(unknown.stderr, /no key has id "nope"/);
        assert.ok(!unknown.stderr.includes(new URL(db.url).password));
      },
    );
  } finally {
    await db.close();
  }
});

Deno.test("bin/authn-postgres-api-key is unavailable while the database is down, serves stale keys within stale_if_error, and recovers", async () => {
  await using db = await startPostgres();
  const plugins: PluginProcess[] = [];
  try {
    const stale = await start(db.url, {
      auto_migrate: true,
      cache_ttl_ms: 100,
      stale_if_error_ms: 60_000,
    });
    plugins.push(stale);
    const strict = await start(db.url, { cache_ttl_ms: 100 });
    plugins.push(strict);
    const known = await createKey(db.url, "--subject=known");
    const fresh = await createKey(db.url, "--subject=fresh");
    assert.equal((await authenticate(stale, known.key)).decision, "allow");
    assert.equal((await authenticate(strict, known.key)).decision, "allow");
    assert.equal((await checkHealth(stale)).status, "ok");

    await db.stop();
    const staleResult = await authenticate(stale, known.key);
    assert.equal(staleResult.decision, "allow", "a cached key within stale_if_error");
    const error = await authenticate(stale, fresh.key).then(() => null, (e) => e);
    assert.ok(error instanceof PluginError, String(error));
    assert.equal(error.type, "unavailable");
    assert.match(error.message, /^Cannot look up API key: the database did not answer/);
    const strictError = await authenticate(strict, known.key).then(() => null, (e) => e);
    assert.ok(strictError instanceof PluginError);
    assert.equal(strictError.type, "unavailable");
    assert.equal((await checkHealth(stale)).status, "unavailable");

    await db.start();
    await within(15_000, async () => (await checkHealth(stale)).status === "ok");
    assert.equal((await authenticate(stale, fresh.key)).decision, "allow");
    assert.equal((await authenticate(strict, known.key)).decision, "allow");
    // The LISTEN connection is back: a revoke is seen again.
    await keys(db.url, "revoke", known.id);
    await within(1_000, async () => (await authenticate(stale, known.key)).decision === "deny");
  } finally {
    await Promise.all(plugins.map((plugin) => plugin.shutdown()));
  }
});

Deno.test("bin/authn-postgres-api-key refuses a database_url pg cannot read, never quoting it", async () => {
  // An unencoded "%" and "/" in the password: pg would throw at the first connection (from
  // the LISTEN loop, crashing the plugin) with the URL re-encoded in its message.
  const url = "postgres://app:50%off/x@127.0.0.1:9/keys";
  const logs: Record<string, unknown>[] = [];
  const error = await assertConfigRefused(start(url, {}, logs), ["database_url"]);
  assert.match(error.message, /database_url is not a PostgreSQL URL pg can read.*%2F/);
  assert.doesNotMatch(JSON.stringify([error.message, error.data, logs]), /50%|off\/x/);
  const cli = await keys(url, "list");
  assert.equal(cli.code, 2);
  assert.match(cli.stderr, /VULPES_PG_URL is not a PostgreSQL URL pg can read/);
  assert.doesNotMatch(cli.stderr, /50%|off\/x/);
});
