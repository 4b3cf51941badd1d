import assert from "node:assert/strict";
import { channelOf, MIGRATIONS, renderMigration } from "./_migrate.ts";

Deno.test("renderMigration() quotes the configured names and leaves no placeholder", () => {
  const names = { schema: "auth", table: "keys" };
  for (const migration of MIGRATIONS) {
    const sql = renderMigration(migration.sql, names);
    assert.ok(!sql.includes("{{"), migration.name);
  }
  const first = renderMigration(MIGRATIONS[0]!.sql, names);
  assert.match(first, /CREATE TABLE IF NOT EXISTS "auth"\."keys" \(/);
  assert.match(first, /FUNCTION "auth"\."keys_notify"\(\)/);
  assert.match(first, /pg_notify\('auth\.keys', encode\(NEW\.digest, 'hex'\)\)/);
  assert.equal(channelOf(names), "auth.keys");
});

Deno.test("MIGRATIONS are numbered 1, 2, … like their files", async () => {
  const files = [];
  for await (const entry of Deno.readDir(new URL("./migrations", import.meta.url))) {
    files.push(entry.name.replace(/\.sql$/, ""));
  }
  assert.deepEqual(MIGRATIONS.map((m) => m.name), files.sort());
  assert.deepEqual(MIGRATIONS.map((m) => m.version), MIGRATIONS.map((_, i) => i + 1));
});
