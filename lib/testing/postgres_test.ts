import assert from "node:assert/strict";
import pg from "pg";
import { startPostgres } from "./postgres.ts";

async function query(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

Deno.test("startPostgres() serves a database that survives stop() and start()", async () => {
  const db = await startPostgres({ database: "vulpes_test" });
  try {
    assert.match(db.url, /^postgres:\/\/postgres:[0-9a-f]{32}@127\.0\.0\.1:\d+\/vulpes_test$/);
    assert.equal(new URL(db.url).port, String(db.port));
    await query(db.url, "CREATE TABLE t (v int); INSERT INTO t VALUES (42)");
    const [row] = await query(db.url, "SELECT current_database() AS db, current_user AS u");
    assert.deepEqual(row, { db: "vulpes_test", u: "postgres" });

    await db.stop();
    await assert.rejects(query(db.url, "SELECT 1"));
    await db.start();
    assert.deepEqual(await query(db.url, "SELECT v FROM t"), [{ v: 42 }]);
  } finally {
    await db.close();
  }
  await db.close();
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: db.port }));
});

Deno.test("startPostgres() listens on 127.0.0.1 only and refuses a wrong password", async () => {
  const db = await startPostgres();
  try {
    assert.ok(db.url.endsWith("/postgres"));
    const [row] = await query(db.url, "SHOW listen_addresses");
    assert.deepEqual(row, { listen_addresses: "127.0.0.1" });
    const wrong = new URL(db.url);
    wrong.password = "wrong";
    await assert.rejects(query(wrong.href, "SELECT 1"), /password authentication failed/);
  } finally {
    await db.close();
  }
});

Deno.test("startPostgres() is closed when an `await using` block throws", async () => {
  let port = 0;
  let dataDir = "";
  await assert.rejects(
    async () => {
      await using db = await startPostgres();
      port = db.port;
      const [row] = await query(db.url, "SHOW data_directory");
      dataDir = String(row?.data_directory);
      await Deno.stat(dataDir);
      throw new Error("the test failed");
    },
    /the test failed/,
  );
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port }));
  await assert.rejects(Deno.stat(dataDir), Deno.errors.NotFound);
});
