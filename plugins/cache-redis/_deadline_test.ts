import assert from "node:assert/strict";
import { CommandTimeoutError, withDeadline } from "./_deadline.ts";

Deno.test("withDeadline() passes on a value or an error that comes in time", async () => {
  assert.equal(await withDeadline(Promise.resolve(7), 10_000), 7);
  await assert.rejects(withDeadline(Promise.reject(new Error("WRONGTYPE")), 10_000), /WRONGTYPE/);
});

Deno.test("withDeadline() rejects with CommandTimeoutError when no answer comes", async () => {
  const never = new Promise<never>(() => {});
  const error = await withDeadline(never, 5).catch((e) => e);
  assert.ok(error instanceof CommandTimeoutError);
  assert.equal(error.timeoutMs, 5);
  assert.match(error.message, /no answer within 5 ms/);
});

Deno.test("withDeadline() rejects with the signal's reason on cancellation", async () => {
  const controller = new AbortController();
  const pending = withDeadline(new Promise<never>(() => {}), 60_000, controller.signal);
  const reason = new Error("cancelled by the core");
  controller.abort(reason);
  assert.equal(await pending.catch((e) => e), reason);
  const late = Promise.reject(new Error("late"));
  assert.equal(await withDeadline(late, 60_000, controller.signal).catch((e) => e), reason);
});
