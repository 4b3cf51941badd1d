import assert from "node:assert/strict";
import { startPostgres } from "@vulpes/contract/testing";
import { indexPool, insertRows, migrate, MIGRATIONS } from "./_index.ts";
import { buildTranscript, indexRow } from "./_transcript.ts";

Deno.test("migrate() applies each migration once, even when gateways start together", async () => {
  await using server = await startPostgres();
  const pools = [1, 2, 3].map(() => indexPool(server.url, 1));
  try {
    const applied = await Promise.all(pools.map((pool) => migrate(pool)));
    assert.deepEqual(applied.flat(), MIGRATIONS.map((m) => m.version));
    assert.deepEqual(await migrate(pools[0]!), []);
    const { rows } = await pools[0]!.query(
      "SELECT version, name FROM vulpes_transcripts_migrations ORDER BY version",
    );
    assert.deepEqual(rows, MIGRATIONS.map(({ version, name }) => ({ version, name })));

    const transcript = buildTranscript(
      {
        type: "request.completed",
        time: "2026-03-01T12:00:00.000Z",
        request_id: "r1",
        status: 200,
      },
      [],
      false,
    );
    const row = indexRow(transcript, "b", "k", 10);
    // Retried batches, and a request id twice in one batch, keep one row.
    await insertRows(pools[0]!, [row, row]);
    await insertRows(pools[1]!, [row]);
    const count = await pools[0]!.query("SELECT count(*)::int AS n FROM vulpes_transcripts");
    assert.equal(count.rows[0].n, 1);
  } finally {
    await Promise.all(pools.map((pool) => pool.end()));
  }
});
