import assert from "node:assert/strict";
import { observerClient } from "./clients.ts";

Deno.test("observerClient().emit() leaves out an invalid event, never the whole batch", () => {
  const sent: unknown[] = [];
  const plugin = {
    instance: "obs",
    request: () => Promise.resolve({}),
    notify: (_m: string, p: unknown) => sent.push(p),
  };
  const good = {
    type: "request.completed" as const,
    time: "2026-01-01T00:00:00Z",
    request_id: "r1",
  };
  const bad = { type: "request.exploded", time: "2026-01-01T00:00:00Z", request_id: "r2" };
  const embeddings = { ...good, request_id: "r3", usage: { prompt_tokens: 3, total_tokens: 3 } };
  const rejected = observerClient(plugin).emit({ events: [good, bad as never, embeddings] });
  assert.equal(rejected, 1);
  assert.deepEqual(sent, [{ events: [good, embeddings] }]);
});
