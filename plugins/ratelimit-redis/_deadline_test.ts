import assert from "node:assert/strict";
import { withDeadline } from "./_deadline.ts";

Deno.test("withDeadline() passes on a value or an error that comes in time", async () => {
  assert.equal(await withDeadline(Promise.resolve(7), 10_000), 7);
  await assert.rejects(withDeadline(Promise.reject(new Error("NOSCRIPT")), 10_000), /NOSCRIPT/);
});

Deno.test("withDeadline() rejects with a TimeoutError naming command_timeout_ms when no answer comes", async () => {
  const error = await withDeadline(new Promise<never>(() => {}), 5).catch((e) => e);
  assert.ok(error instanceof Error, String(error));
  assert.equal(error.name, "TimeoutError");
  assert.equal(error.message, "no answer within command_timeout_ms (5 ms)");
});

Deno.test("withDeadline() rejects with the signal's reason on cancellation, also when it came before", async () => {
  const controller = new AbortController();
  const pending = withDeadline(new Promise<never>(() => {}), 60_000, controller.signal);
  const reason = new Error("cancelled by the core");
  controller.abort(reason);
  assert.equal(await pending.catch((e) => e), reason);
  const never = new Promise<never>(() => {});
  assert.equal(await withDeadline(never, 60_000, controller.signal).catch((e) => e), reason);
});

Deno.test("withDeadline() ignores a late rejection of the call it gave up on", async () => {
  let fail = (_: Error) => {};
  const late = new Promise<never>((_, reject) => fail = reject);
  await assert.rejects(withDeadline(late, 1), { name: "TimeoutError" });
  fail(new Error("The client was destroyed"));
  await new Promise((resolve) => setTimeout(resolve, 10));
});
