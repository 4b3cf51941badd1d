/**
 * Authentications per second, in process against a throwaway PostgreSQL: from the LRU cache,
 * and with caching off (one indexed lookup per call). The database is started once, by the
 * first bench, and stopped by the last one.
 */
import { createHash } from "node:crypto";
// @ts-types="npm:@types/pg@^8"
import pg from "pg";
import type { PluginInstance } from "@vulpes/contract/plugin";
import {
  createTestCall,
  createTestContext,
  startPostgres,
  type TestPostgres,
} from "@vulpes/contract/testing";
import { configSchema } from "./config.ts";
import { plugin } from "./mod.ts";

const KEY = "sk-bench-key-0123456789";
const params = {
  credentials: { authorization: `Bearer ${KEY}` },
  request: { method: "POST", path: "/v1/chat/completions", model: "gpt-4o" },
};
const call = createTestCall();

interface Setup {
  db: TestPostgres;
  cached: PluginInstance;
  uncached: PluginInstance;
}
let setup: Promise<Setup> | null = null;
let closed = false;

function ready(): Promise<Setup> {
  setup ??= (async () => {
    const db = await startPostgres();
    const base = { database_url: db.url, auto_migrate: true, last_used_flush_ms: 60_000 };
    const context = createTestContext({ now: () => Date.now() });
    const cached = await plugin.create(configSchema.parse(base), context);
    const uncached = await plugin.create(
      configSchema.parse({ ...base, cache_max_entries: 0 }),
      context,
    );
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query(
      "INSERT INTO vulpes.api_keys (digest, prefix, subject) VALUES ($1, 'sk-bench', 'bench')",
      [createHash("sha256").update(KEY).digest()],
    );
    await client.end();
    return { db, cached, uncached };
  })();
  return setup;
}

async function authenticate(instance: PluginInstance): Promise<void> {
  const result = await instance.authenticator!.authenticate(params, call);
  if ((result as { decision: string }).decision !== "allow") throw new Error("not allowed");
}

Deno.bench(
  "authenticate() from the cache",
  { group: "authn", n: 20_000, warmup: 500 },
  async (b) => {
    const { cached } = await ready();
    b.start();
    await authenticate(cached);
    b.end();
  },
);

Deno.bench("authenticate() with a database lookup (cache off)", {
  group: "authn",
  baseline: true,
  n: 3_000,
  warmup: 200,
}, async (b) => {
  const { uncached } = await ready();
  b.start();
  await authenticate(uncached);
  b.end();
});

Deno.bench("(teardown: stop PostgreSQL)", { group: "authn", n: 1, warmup: 0 }, async () => {
  if (closed || setup === null) return;
  closed = true;
  const { db, cached, uncached } = await setup;
  await cached.close?.();
  await uncached.close?.();
  await db.close();
});
