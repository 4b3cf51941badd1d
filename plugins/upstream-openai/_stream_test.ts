import assert from "node:assert/strict";
import type { SseEvent } from "@vulpes/contract/openai";
import { PluginError } from "@vulpes/contract/protocol";
import { relayChunks } from "./_stream.ts";

async function* events(...data: string[]): AsyncGenerator<SseEvent> {
  for (const item of data) {
    await Promise.resolve();
    yield { event: "message", data: item };
  }
}

const chunk = (content: string, finish: string | null = null) =>
  JSON.stringify({
    id: "c",
    object: "chat.completion.chunk",
    created: 0,
    model: "m",
    choices: [{ index: 0, delta: { content }, finish_reason: finish }],
  });
const usage = JSON.stringify({
  id: "c",
  object: "chat.completion.chunk",
  created: 0,
  model: "m",
  choices: [],
  usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
});

Deno.test("relayChunks() relays every chunk in order and reports usage and finish reason", async () => {
  const seen: unknown[] = [];
  const summary = await relayChunks(
    events(chunk("Hel"), chunk("lo", "stop"), usage, "[DONE]", chunk("after")),
    (c) => seen.push(c),
  );
  assert.equal(seen.length, 3);
  assert.deepEqual(summary, {
    usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
    finish_reason: "stop",
  });
});

Deno.test("relayChunks() fails on an error payload in the middle of the stream", async () => {
  const seen: unknown[] = [];
  await assert.rejects(
    relayChunks(
      events(chunk("a"), '{"error":{"message":"overloaded"}}', chunk("b")),
      (c) => seen.push(c),
    ),
    (error) =>
      error instanceof PluginError && error.type === "upstream_error" &&
      error.message === "The upstream reported an error mid-stream: overloaded",
  );
  assert.equal(seen.length, 1);
});

Deno.test("relayChunks() fails on a chunk that is not a JSON object", async () => {
  await assert.rejects(relayChunks(events("{not json"), () => {}), /not a JSON object/);
  await assert.rejects(relayChunks(events("[1,2]"), () => {}), /not a JSON object/);
});

Deno.test("relayChunks() fails when the stream ends before it finished", async () => {
  await assert.rejects(
    relayChunks(events(chunk("partial")), () => {}),
    /closed the stream before it finished/,
  );
});

Deno.test("relayChunks() accepts a finished stream without [DONE], as some servers send", async () => {
  const summary = await relayChunks(events(chunk("x", "length")), () => {});
  assert.equal(summary.finish_reason, "length");
});
