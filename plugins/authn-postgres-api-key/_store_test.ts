import assert from "node:assert/strict";
import type pg from "pg";
import { createTestContext } from "@vulpes/contract/testing";
import { createUsageRecorder } from "./_store.ts";

/** A pool whose queries fail, as while the database is down; it records their params. */
function downPool(): pg.Pool & { calls: unknown[][] } {
  const calls: unknown[][] = [];
  return {
    calls,
    query: (_text: string, params: unknown[]) => {
      calls.push(params);
      return Promise.reject(new Error("connection refused"));
    },
  } as unknown as pg.Pool & { calls: unknown[][] };
}

const names = { schema: "public", table: "api_keys" };

Deno.test("createUsageRecorder() keeps last_used_at marks a failed write did not store, for the next flush", async () => {
  const context = createTestContext();
  const pool = downPool();
  const recorder = createUsageRecorder(pool, names, 60_000, context.logger);
  recorder.markUsed("k1", 1000);
  await recorder.flush();
  await recorder.flush();
  assert.equal(pool.calls.length, 2, "the second flush retried the mark");
  assert.ok(context.logs.some((l) => l.msg === "Cannot write last_used_at; will retry"));
  await recorder.close();
});

Deno.test("createUsageRecorder().close() does not promise a retry it will never make", async () => {
  const context = createTestContext();
  const recorder = createUsageRecorder(downPool(), names, 60_000, context.logger);
  recorder.markUsed("k1", 1000);
  recorder.markUsed("k2", 2000);
  await recorder.close();
  const last = context.logs.at(-1)!;
  assert.match(String(last.msg), /at shutdown; these keys keep their older value/);
  assert.equal(last.keys, 2);
  assert.ok(!context.logs.some((l) => /will retry/.test(String(l.msg))));
});
