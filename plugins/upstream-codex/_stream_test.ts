import assert from "node:assert/strict";
import type { SseEvent } from "@vulpes/contract/openai";
import { PluginError } from "@vulpes/contract/plugin";
import { createStreamMapper, relayEvents } from "./_stream.ts";

type Json = Record<string, unknown>;

const RESPONSE = { id: "resp_1", model: "codex-mini", created_at: 1_760_000_000 };
const USAGE = {
  input_tokens: 10,
  input_tokens_details: { cached_tokens: 4 },
  output_tokens: 5,
  output_tokens_details: { reasoning_tokens: 2 },
  total_tokens: 15,
};

function event(type: string, fields: Json = {}): SseEvent {
  return { event: type, data: JSON.stringify({ type, ...fields }) };
}

const created = event("response.created", { response: { ...RESPONSE, status: "in_progress" } });

function completed(extra: Json = {}): SseEvent {
  return event("response.completed", {
    response: { ...RESPONSE, status: "completed", usage: USAGE, ...extra },
  });
}

function textDelta(delta: string): SseEvent {
  return event("response.output_text.delta", { item_id: "msg_1", content_index: 0, delta });
}

function deltas(chunks: Json[]): Json[] {
  return chunks.flatMap((chunk) =>
    (chunk.choices as { delta: Json }[]).map((choice) => choice.delta)
  );
}

function mapAll(events: SseEvent[]): Json[] {
  const mapper = createStreamMapper(() => 0);
  return events.flatMap((e) => mapper.push(e));
}

Deno.test("createStreamMapper() opens with the assistant role on response.created", () => {
  assert.deepEqual(mapAll([created]), [{
    id: "resp_1",
    object: "chat.completion.chunk",
    created: 1_760_000_000,
    model: "codex-mini",
    choices: [{
      index: 0,
      delta: { role: "assistant", content: "" },
      logprobs: null,
      finish_reason: null,
    }],
  }]);
});

Deno.test("createStreamMapper() sends output_text deltas as content", () => {
  assert.deepEqual(deltas(mapAll([created, textDelta("Hel"), textDelta("lo")])), [
    { role: "assistant", content: "" },
    { content: "Hel" },
    { content: "lo" },
  ]);
});

Deno.test("createStreamMapper() puts the role on the first chunk when response.created is missing", () => {
  assert.deepEqual(deltas(mapAll([textDelta("Hi")])), [{ role: "assistant", content: "Hi" }]);
});

Deno.test("createStreamMapper() sends only the missing rest of output_text.done", () => {
  const done = (text: string) =>
    event("response.output_text.done", { item_id: "msg_1", content_index: 0, text });
  assert.deepEqual(deltas(mapAll([created, textDelta("Hel"), done("Hello")])).slice(1), [
    { content: "Hel" },
    { content: "lo" },
  ]);
  assert.deepEqual(deltas(mapAll([created, textDelta("Hello"), done("Hello")])).slice(1), [
    { content: "Hello" },
  ]);
});

Deno.test("createStreamMapper() sends refusal deltas as refusal", () => {
  const refusal = event("response.refusal.delta", {
    item_id: "msg_1",
    content_index: 0,
    delta: "No.",
  });
  assert.deepEqual(deltas(mapAll([created, refusal])).slice(1), [{ refusal: "No." }]);
});

Deno.test("createStreamMapper() streams a function call: header, then argument pieces", () => {
  const item = { type: "function_call", id: "fc_1", call_id: "call_1", name: "get_weather" };
  const at = { item_id: "fc_1", output_index: 0 };
  const chunks = mapAll([
    created,
    event("response.output_item.added", { output_index: 0, item: { ...item, arguments: "" } }),
    event("response.function_call_arguments.delta", { ...at, delta: '{"city":' }),
    event("response.function_call_arguments.delta", { ...at, delta: '"Paris"}' }),
    event("response.function_call_arguments.done", { ...at, arguments: '{"city":"Paris"}' }),
    event("response.output_item.done", {
      output_index: 0,
      item: { ...item, arguments: '{"city":"Paris"}' },
    }),
  ]);
  assert.deepEqual(deltas(chunks).slice(1), [
    {
      tool_calls: [{
        index: 0,
        id: "call_1",
        type: "function",
        function: { name: "get_weather", arguments: "" },
      }],
    },
    { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] },
    { tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] },
  ]);
});

Deno.test("createStreamMapper() numbers parallel tool calls and routes deltas by item id", () => {
  const added = (n: number, output_index: number) =>
    event("response.output_item.added", {
      output_index,
      item: { type: "function_call", id: `fc_${n}`, call_id: `call_${n}`, name: `f${n}` },
    });
  const delta = (n: number, output_index: number, text: string) =>
    event("response.function_call_arguments.delta", {
      item_id: `fc_${n}`,
      output_index,
      delta: text,
    });
  const chunks = mapAll([
    created,
    event("response.output_item.added", {
      output_index: 0,
      item: { type: "reasoning", id: "rs_1" },
    }),
    added(1, 1),
    added(2, 2),
    delta(2, 2, "{}"),
    delta(1, 1, '{"a":1}'),
  ]);
  const calls = deltas(chunks).slice(1).map((d) => (d.tool_calls as Json[])[0]!);
  assert.deepEqual(calls.map((call) => call.index), [0, 1, 1, 0]);
  assert.deepEqual(calls.map((call) => (call.function as Json).arguments), [
    "",
    "",
    "{}",
    '{"a":1}',
  ]);
});

Deno.test("createStreamMapper() sends arguments known only from the done events", () => {
  const item = { type: "function_call", id: "fc_1", call_id: "call_1", name: "f" };
  const onlyDone = mapAll([
    created,
    event("response.output_item.added", { output_index: 0, item }),
    event("response.function_call_arguments.done", {
      item_id: "fc_1",
      output_index: 0,
      arguments: "{}",
    }),
  ]);
  assert.deepEqual(deltas(onlyDone).at(-1), {
    tool_calls: [{ index: 0, function: { arguments: "{}" } }],
  });
  const onlyItemDone = mapAll([
    created,
    event("response.output_item.done", { output_index: 0, item: { ...item, arguments: "{}" } }),
  ]);
  assert.deepEqual(deltas(onlyItemDone).at(-1), {
    tool_calls: [{
      index: 0,
      id: "call_1",
      type: "function",
      function: { name: "f", arguments: "{}" },
    }],
  });
});

Deno.test("createStreamMapper() ends with a finish chunk and a usage chunk without choices", () => {
  const chunks = mapAll([created, textDelta("Hi"), completed()]);
  assert.deepEqual(chunks.at(-2)!.choices, [{
    index: 0,
    delta: {},
    logprobs: null,
    finish_reason: "stop",
  }]);
  assert.deepEqual(chunks.at(-1), {
    id: "resp_1",
    object: "chat.completion.chunk",
    created: 1_760_000_000,
    model: "codex-mini",
    choices: [],
    usage: {
      prompt_tokens: 10,
      completion_tokens: 5,
      total_tokens: 15,
      prompt_tokens_details: { cached_tokens: 4 },
      completion_tokens_details: { reasoning_tokens: 2 },
    },
  });
});

Deno.test("createStreamMapper() sends no usage chunk when the response has no usage", () => {
  const chunks = mapAll([created, completed({ usage: null })]);
  assert.equal(chunks.length, 2);
  assert.equal((chunks[1]!.choices as Json[]).length, 1);
});

Deno.test("createStreamMapper() finishes with tool_calls after a function call", () => {
  const mapper = createStreamMapper();
  mapper.push(created);
  mapper.push(event("response.output_item.added", {
    output_index: 0,
    item: { type: "function_call", id: "fc_1", call_id: "c", name: "f" },
  }));
  mapper.push(completed());
  assert.equal(mapper.done, true);
  assert.equal(mapper.finish().finish_reason, "tool_calls");
});

Deno.test("createStreamMapper() maps response.incomplete to length or content_filter", () => {
  for (
    const [reason, expected] of [["max_output_tokens", "length"], [
      "content_filter",
      "content_filter",
    ]]
  ) {
    const mapper = createStreamMapper();
    const chunks = mapper.push(event("response.incomplete", {
      response: { ...RESPONSE, status: "incomplete", incomplete_details: { reason }, usage: USAGE },
    }));
    assert.equal((chunks[0]!.choices as Json[])[0]!.finish_reason, expected);
    assert.deepEqual(mapper.finish(), {
      finish_reason: expected,
      usage: {
        prompt_tokens: 10,
        completion_tokens: 5,
        total_tokens: 15,
        prompt_tokens_details: { cached_tokens: 4 },
        completion_tokens_details: { reasoning_tokens: 2 },
      },
    });
  }
});

Deno.test("createStreamMapper() ignores events it has no chunk for", () => {
  const chunks = mapAll([
    created,
    event("response.in_progress", { response: RESPONSE }),
    event("response.content_part.added", { item_id: "msg_1" }),
    event("response.reasoning_summary_text.delta", { delta: "hmm" }),
    event("response.some_future_event", {}),
    { event: "message", data: "[DONE]" },
  ]);
  assert.equal(chunks.length, 1);
});

Deno.test("createStreamMapper() fails on an error event with the upstream message", () => {
  const mapper = createStreamMapper();
  assert.throws(
    () =>
      mapper.push(
        event("error", { code: "rate_limit_exceeded", message: "Slow down", param: null }),
      ),
    (error) => {
      assert.ok(error instanceof PluginError);
      assert.equal(error.type, "upstream_error");
      assert.equal(error.message, "The upstream reported an error: Slow down");
      assert.equal(error.data.upstream_code, "rate_limit_exceeded");
      return true;
    },
  );
});

Deno.test("createStreamMapper() reads a nested error object too", () => {
  assert.throws(
    () => createStreamMapper().push(event("error", { error: { message: "Nested" } })),
    /The upstream reported an error: Nested/,
  );
});

Deno.test("createStreamMapper() fails on response.failed with the response's error", () => {
  assert.throws(
    () =>
      createStreamMapper().push(event("response.failed", {
        response: {
          ...RESPONSE,
          status: "failed",
          error: { code: "server_error", message: "Boom" },
        },
      })),
    (error) => {
      assert.ok(error instanceof PluginError);
      assert.equal(error.type, "upstream_error");
      assert.equal(error.message, "The upstream failed: Boom");
      return true;
    },
  );
});

Deno.test("createStreamMapper() fails on an event that is not JSON", () => {
  assert.throws(
    () => createStreamMapper().push({ event: "message", data: "{oops" }),
    /The upstream sent a stream event that is not JSON/,
  );
});

Deno.test("createStreamMapper() finish() fails when the stream ended before it completed", () => {
  const mapper = createStreamMapper();
  mapper.push(created);
  mapper.push(textDelta("Hi"));
  assert.equal(mapper.done, false);
  assert.throws(() => mapper.finish(), (error) => {
    assert.ok(error instanceof PluginError);
    assert.equal(error.type, "upstream_error");
    assert.equal(error.message, "The upstream closed the stream before it completed");
    return true;
  });
});

Deno.test("relayEvents() relays chunks in order and stops reading at the end of the response", async () => {
  let read = 0;
  async function* events() {
    for (const e of [created, textDelta("Hi"), completed(), textDelta("never")]) {
      read++;
      yield await Promise.resolve(e);
    }
  }
  const chunks: Json[] = [];
  const summary = await relayEvents(events(), (chunk) => chunks.push(chunk));
  assert.equal(read, 3);
  assert.equal(chunks.length, 4);
  assert.equal(summary.finish_reason, "stop");
  assert.equal(summary.usage?.total_tokens, 15);
});

Deno.test("relayEvents() rejects when the events end early", async () => {
  async function* events() {
    yield await Promise.resolve(created);
  }
  await assert.rejects(
    relayEvents(events(), () => {}),
    /The upstream closed the stream before it completed/,
  );
});

Deno.test("relayEvents() reports a connection broken while reading as a stream closed early", async () => {
  async function* events(): AsyncGenerator<SseEvent> {
    yield await Promise.resolve(created);
    throw new PluginError(
      "upstream_error",
      "The upstream connection broke while it was answering (http://x): reset",
      {
        status: 502,
        reason: "connection_broken",
      },
    );
  }
  const error = await relayEvents(events(), () => {}).catch((e) => e);
  assert.ok(error instanceof PluginError);
  assert.equal(error.message, "The upstream closed the stream before it completed");
  assert.equal(
    error.data.detail,
    "The upstream connection broke while it was answering (http://x): reset",
  );
});

Deno.test("relayEvents() passes timeouts and cancellation through unchanged", async () => {
  const timeout = new PluginError("upstream_timeout", "The upstream sent nothing within 5 ms");
  const cancelled = new Error("cancelled");
  async function* failing(thrown: unknown): AsyncGenerator<SseEvent> {
    yield await Promise.resolve(created);
    throw thrown;
  }
  for (const thrown of [timeout, cancelled]) {
    assert.equal(await relayEvents(failing(thrown), () => {}).catch((e) => e), thrown);
  }
});

Deno.test("relayEvents() closes the event source after a failed response", async () => {
  let closed = false;
  async function* events(): AsyncGenerator<SseEvent> {
    try {
      yield await Promise.resolve(created);
      yield event("response.failed", { response: { status: "failed" } });
      yield textDelta("never");
    } finally {
      closed = true;
    }
  }
  await assert.rejects(relayEvents(events(), () => {}), /The upstream failed/);
  assert.equal(closed, true);
});
