import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import type { ObserverEvent } from "@vulpes/contract/capabilities";
import {
  Assembler,
  assembleStream,
  buildTranscript,
  gzipJson,
  indexRow,
  keySegment,
  objectKey,
} from "./_transcript.ts";

const completed: ObserverEvent = {
  type: "request.completed",
  time: "2026-03-01T00:00:00.400Z",
  request_id: "req-1",
  tenant: "acme",
  subject: "alice",
  model: "gpt-4o",
  route: { upstream: "azure", model: "gpt-4o-prod" },
  status: 200,
  latency_ms: 1000,
  usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
  payload: { request: { messages: [] }, response: { id: "c1" } },
};

Deno.test("objectKey() lays keys out as prefix/tenant/yyyy/mm/dd/request_id.json.gz by start date", () => {
  // Started 1 s before midnight UTC: the key uses the start's day.
  const t = buildTranscript(completed, [], true);
  assert.equal(objectKey("transcripts", t), "transcripts/acme/2026/02/28/req-1.json.gz");
  assert.equal(objectKey("", t), "acme/2026/02/28/req-1.json.gz");
  assert.equal(objectKey("a/b", t), "a/b/acme/2026/02/28/req-1.json.gz");
});

Deno.test("objectKey() writes _ for no tenant and escapes segments that could split the key", () => {
  const t = buildTranscript(
    (({ tenant: _t, ...rest }) => ({ ...rest, request_id: "../x/y" }))(completed),
    [],
    false,
  );
  assert.equal(objectKey("p", t), "p/_/2026/02/28/..%2Fx%2Fy.json.gz");
  assert.equal(keySegment(".."), "%2E%2E");
  assert.equal(keySegment("a b"), "a%20b");
  assert.equal(keySegment("ok-1_2.3~"), "ok-1_2.3~");
  assert.equal(keySegment("é🦊%"), "%C3%A9%F0%9F%A6%8A%25");
});

Deno.test("buildTranscript() keeps bodies only when payloads are captured", () => {
  const withBodies = buildTranscript(completed, [], true);
  assert.equal(withBodies.payload_captured, true);
  assert.deepEqual(withBodies.request, { messages: [] });
  assert.deepEqual(withBodies.response, { id: "c1" });
  assert.equal(withBodies.started_at, "2026-02-28T23:59:59.400Z");
  const metadata = buildTranscript(completed, [], false);
  assert.equal(metadata.payload_captured, false);
  assert.equal("request" in metadata, false);
  assert.equal("response" in metadata, false);
  assert.equal(metadata.subject, "alice");
  assert.deepEqual(metadata.usage, completed.usage);
});

Deno.test("assembleStream() turns chat.completion.chunk lists into one completion", () => {
  const chunk = (delta: object, finish: string | null = null, usage?: object) => ({
    id: "c",
    object: "chat.completion.chunk",
    created: 1,
    model: "m",
    choices: [{ index: 0, delta, finish_reason: finish }],
    ...(usage ? { usage } : {}),
  });
  const chunks = [
    chunk({ role: "assistant" }),
    chunk({ content: "Hel" }),
    chunk({ content: "lo" }, "stop", { total_tokens: 2 }),
  ];
  assert.deepEqual(assembleStream(chunks), {
    id: "c",
    created: 1,
    model: "m",
    object: "chat.completion",
    choices: [{
      index: 0,
      message: { role: "assistant", content: "Hello" },
      finish_reason: "stop",
    }],
    usage: { total_tokens: 2 },
  });
  const t = buildTranscript({ ...completed, payload: { request: {}, response: chunks } }, [], true);
  assert.equal((t.response as { object: string }).object, "chat.completion");
});

Deno.test("Assembler attaches attempts to their request and bounds what it holds", () => {
  const assembler = new Assembler({ maxHeldRequests: 2, keepAttempts: true });
  const attempt = (id: string): ObserverEvent => ({
    type: "upstream.attempt",
    time: completed.time,
    request_id: id,
    status: 503,
    traceparent: "x",
  });
  assert.deepEqual(assembler.push([attempt("req-1"), attempt("a"), attempt("b")]), []);
  assert.equal(assembler.held, 2);
  assert.equal(assembler.orphaned, 1);
  const [out] = assembler.push([attempt("a"), { ...completed, request_id: "a" }]);
  assert.equal(out!.held.length, 2);
  const t = buildTranscript(out!.final, out!.held, false);
  assert.deepEqual(t.events[0], { type: "upstream.attempt", time: completed.time, status: 503 });
  const off = new Assembler({ maxHeldRequests: 2, keepAttempts: false });
  off.push([attempt("a")]);
  assert.equal(off.held, 0);
});

Deno.test("indexRow() and gzipJson() describe the object written", async () => {
  const t = buildTranscript(completed, [], true);
  const body = await gzipJson(t);
  assert.deepEqual(JSON.parse(gunzipSync(body).toString()), JSON.parse(JSON.stringify(t)));
  const row = indexRow(t, "bucket", "k", body.byteLength);
  assert.equal(row.upstream, "azure");
  assert.equal(row.upstream_model, "gpt-4o-prod");
  assert.equal(row.total_tokens, 7);
  assert.equal(row.object_size, body.byteLength);
});
