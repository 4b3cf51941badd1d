import assert from "node:assert/strict";
import { backoffMs, sleep } from "./_retry.ts";

const backoff = { initial_ms: 100, max_ms: 1000, multiplier: 2 };

Deno.test("backoffMs() doubles up to max_ms and waives a random half of each step", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 10].map((n) => backoffMs(n, backoff, () => 0)), [
    50,
    100,
    200,
    400,
    500,
    500,
  ]);
  assert.deepEqual([0, 1, 2, 3, 4, 10].map((n) => backoffMs(n, backoff, () => 0.999999)), [
    100,
    200,
    400,
    800,
    1000,
    1000,
  ]);
  assert.equal(backoffMs(2, backoff, () => 0.5), 300);
});

Deno.test("sleep() resolves false at once when aborted", async () => {
  const controller = new AbortController();
  const waiting = sleep(60_000, controller.signal);
  controller.abort();
  assert.equal(await waiting, false);
  assert.equal(await sleep(1, new AbortController().signal), true);
});
