import assert from "node:assert/strict";
import type { ObserverEvent } from "@vulpes/contract/capabilities";
import { Correlator, MAX_CHILDREN_PER_REQUEST } from "./_correlate.ts";
import { traceRefOf } from "./_spans.ts";

const TP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const event = (type: ObserverEvent["type"], id: string, extra: Partial<ObserverEvent> = {}) =>
  ({
    type,
    time: "2026-01-01T00:00:00Z",
    request_id: id,
    ...extra,
  }) as ObserverEvent;

Deno.test("attempts wait for their request and come out under its trace", () => {
  const correlator = new Correlator({ holdMs: 1000, maxRequests: 10, sampling: "parent" });
  // The attempt has no traceparent; the request has one: only waiting gets this right.
  assert.deepEqual(correlator.push([event("upstream.attempt", "a")], 0), []);
  assert.equal(correlator.held, 1);
  const out = correlator.push([event("request.completed", "a", { traceparent: TP })], 10);
  assert.deepEqual(out.map((e) => e.kind), ["request", "child"]);
  const child = out[1]!;
  assert.ok(child.kind === "child");
  assert.equal(child.ref.traceId, "0af7651916cd43dd8448eb211c80319c");
  assert.equal(correlator.held, 0);
  assert.equal(correlator.orphaned, 0);
  // A late attempt finds the remembered request.
  const late = correlator.push([event("upstream.attempt", "a")], 20);
  assert.ok(late[0]?.kind === "child");
  assert.equal(late[0].ref.traceId, "0af7651916cd43dd8448eb211c80319c");
});

Deno.test("attempts that wait too long, or are pushed out, go alone with a derived parent", () => {
  const correlator = new Correlator({ holdMs: 1000, maxRequests: 2, sampling: "parent" });
  correlator.push([event("upstream.attempt", "a")], 0);
  correlator.push([event("upstream.attempt", "b")], 100);
  const pushedOut = correlator.push([event("cache.hit", "c")], 200);
  assert.equal(pushedOut.length, 1);
  assert.equal(pushedOut[0]!.event.request_id, "a");
  assert.equal(correlator.expire(1099).length, 0);
  const expired = correlator.expire(1100);
  assert.deepEqual(expired.map((e) => e.event.request_id), ["b"]);
  const child = expired[0]!;
  assert.ok(child.kind === "child");
  assert.deepEqual(child.ref, traceRefOf(event("upstream.attempt", "b"), "parent"));
  assert.deepEqual(correlator.drain().map((e) => e.event.request_id), ["c"]);
  assert.equal(correlator.orphaned, 3);
});

Deno.test("a request holds a bounded number of children", () => {
  const correlator = new Correlator({ holdMs: 1000, maxRequests: 2, sampling: "parent" });
  const many = Array.from(
    { length: MAX_CHILDREN_PER_REQUEST + 3 },
    () => event("upstream.attempt", "a"),
  );
  assert.equal(correlator.push(many, 0).length, 3);
  assert.equal(
    correlator.push([event("request.failed", "a")], 1).length,
    MAX_CHILDREN_PER_REQUEST + 1,
  );
});
