import assert from "node:assert/strict";
import { startLifetime } from "./_lifetime.ts";

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test("a request still held is aborted at its timeout with a TimeoutError naming the setting", async () => {
  const lifetime = startLifetime(new AbortController().signal, 20);
  const release = lifetime.hold();
  await sleep(60);
  assert.equal(lifetime.signal.aborted, true);
  const reason = lifetime.signal.reason as DOMException;
  assert.equal(reason.name, "TimeoutError");
  assert.match(reason.message, /request_timeout_ms \(20 ms\)/);
  release();
});

Deno.test("a request that is over keeps no timer: its timeout never fires", async () => {
  const lifetime = startLifetime(new AbortController().signal, 20);
  lifetime.hold()();
  await sleep(60);
  assert.equal(lifetime.signal.aborted, false);
});

Deno.test("the gateway stopping aborts a request in flight with the gateway's reason", () => {
  const stopping = new AbortController();
  const lifetime = startLifetime(stopping.signal, 60_000);
  const release = lifetime.hold();
  const reason = new DOMException("The gateway is stopping", "AbortError");
  stopping.abort(reason);
  assert.equal(lifetime.signal.reason, reason);
  release();
});

Deno.test("a request started while the gateway stops is aborted at once", () => {
  const stopping = new AbortController();
  stopping.abort(new DOMException("The gateway is stopping", "AbortError"));
  const lifetime = startLifetime(stopping.signal, 60_000);
  lifetime.hold()();
  assert.equal(lifetime.signal.aborted, true);
});

Deno.test("a stream's hold keeps the request alive after the handler released its own", async () => {
  const stopping = new AbortController();
  const lifetime = startLifetime(stopping.signal, 30);
  const handler = lifetime.hold();
  const stream = lifetime.hold();
  handler();
  handler(); // twice counts once
  await sleep(70);
  assert.equal(lifetime.signal.aborted, true, "the stream outlived the timeout: aborted");
  stream();
});

Deno.test("once every hold is released, stopping the gateway no longer reaches the request", () => {
  const stopping = new AbortController();
  const lifetime = startLifetime(stopping.signal, 60_000);
  const handler = lifetime.hold();
  const stream = lifetime.hold();
  handler();
  stream();
  stopping.abort();
  assert.equal(lifetime.signal.aborted, false);
  assert.doesNotThrow(() => lifetime.hold()(), "a hold taken when over is a no-op");
});

Deno.test("abort() ends the request's signal with the given reason (the client left)", () => {
  const lifetime = startLifetime(new AbortController().signal, 60_000);
  const release = lifetime.hold();
  const reason = new DOMException("The client left", "AbortError");
  lifetime.abort(reason);
  assert.equal(lifetime.signal.reason, reason);
  release();
});
