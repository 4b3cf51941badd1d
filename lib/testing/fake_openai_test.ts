import assert from "node:assert/strict";
import { readSse, type SseEvent } from "../openai/sse.ts";
import {
  chatChunkEvents,
  chatCompletion,
  type FakeOpenAI,
  type FakeOpenAIOptions,
  startFakeOpenAI,
} from "./fake_openai.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

async function withFake(
  options: FakeOpenAIOptions,
  test: (fake: FakeOpenAI) => Promise<void>,
): Promise<void> {
  const fake = await startFakeOpenAI(options);
  try {
    await test(fake);
  } finally {
    await fake.close();
  }
}

function post(fake: FakeOpenAI, path: string, body: unknown, init: RequestInit = {}) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return fetch(`${fake.url}${path}`, { method: "POST", body: text, ...init });
}

async function postJson(fake: FakeOpenAI, path: string, body: unknown): Promise<Any> {
  const response = await post(fake, path, body);
  assert.equal(response.status, 200);
  return await response.json();
}

async function events(response: Response): Promise<SseEvent[]> {
  assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
  return await Array.fromAsync(readSse(response.body!));
}

function jsonData(list: SseEvent[]): Any[] {
  return list.filter((e) => e.data !== "[DONE]").map((e) => JSON.parse(e.data));
}

/** Reads raw text until the body ends or fails; returns what arrived and the failure. */
async function readUntilError(response: Response): Promise<{ text: string; error?: unknown }> {
  const decoder = new TextDecoder();
  let text = "";
  try {
    for await (const chunk of response.body!) text += decoder.decode(chunk, { stream: true });
    return { text };
  } catch (error) {
    return { text, error };
  }
}

async function until(predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !predicate(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.ok(predicate(), "condition not reached in time");
}

const CHAT = "/v1/chat/completions";
const RESPONSES = "/v1/responses";
const WEATHER_TOOL = { type: "function", function: { name: "lookup", parameters: {} } };

Deno.test("startFakeOpenAI() listens on a free port of 127.0.0.1", async () => {
  await withFake({}, async (fake) => {
    assert.match(fake.url, /^http:\/\/127\.0\.0\.1:[1-9][0-9]*$/);
    const other = await startFakeOpenAI();
    assert.notEqual(other.url, fake.url);
    await other.close();
    await other.close();
  });
});

Deno.test("startFakeOpenAI() is closed when an `await using` block throws", async () => {
  let port = 0;
  await assert.rejects(
    async () => {
      await using fake = await startFakeOpenAI();
      port = Number(new URL(fake.url).port);
      await (await fetch(`${fake.url}/v1/models`)).body?.cancel();
      throw new Error("the test failed");
    },
    /the test failed/,
  );
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port }));
});

Deno.test("startFakeOpenAI() echoes the last user message in a chat completion", async () => {
  await withFake({}, async (fake) => {
    const first = await postJson(fake, CHAT, {
      model: "my-model",
      messages: [
        { role: "system", content: "Be brief" },
        { role: "user", content: "Hello there" },
      ],
    });
    assert.equal(first.object, "chat.completion");
    assert.equal(first.id, "chatcmpl-fake-1");
    assert.equal(first.model, "my-model");
    assert.equal(typeof first.created, "number");
    assert.deepEqual(first.choices, [{
      index: 0,
      message: { role: "assistant", content: "Echo: Hello there" },
      logprobs: null,
      finish_reason: "stop",
    }]);
    assert.deepEqual(first.usage, { prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 });

    const second = await postJson(fake, CHAT, {
      model: "m",
      messages: [
        { role: "user", content: "ignored" },
        { role: "user", content: [{ type: "text", text: "Two" }, { type: "text", text: "parts" }] },
      ],
    });
    assert.equal(second.id, "chatcmpl-fake-2");
    assert.equal(second.choices[0].message.content, "Echo: Two parts");
  });
});

Deno.test("startFakeOpenAI() records requests, unless told not to (a long-running mock)", async () => {
  const chat = { model: "m", messages: [{ role: "user", content: "Hi" }] };
  await withFake({}, async (fake) => {
    await postJson(fake, CHAT, chat);
    assert.equal(fake.requests.length, 1);
    assert.deepEqual(fake.requests[0]!.body, chat);
  });
  await withFake({ record: false }, async (fake) => {
    const answer = await postJson(fake, CHAT, chat);
    assert.equal(answer.choices[0].message.content, "Echo: Hi");
    assert.deepEqual(fake.requests, []);
  });
});

Deno.test("startFakeOpenAI() answers a weather question with a tool call when tools are offered", async () => {
  await withFake({}, async (fake) => {
    const messages: unknown[] = [{ role: "user", content: "What is the weather in Paris?" }];
    const call = await postJson(fake, CHAT, { model: "m", messages, tools: [WEATHER_TOOL] });
    assert.deepEqual(call.choices[0], {
      index: 0,
      message: {
        role: "assistant",
        content: null,
        tool_calls: [{
          id: "call_1",
          type: "function",
          function: { name: "lookup", arguments: '{"city":"Paris"}' },
        }],
      },
      logprobs: null,
      finish_reason: "tool_calls",
    });

    const noTools = await postJson(fake, CHAT, { model: "m", messages });
    assert.equal(noTools.choices[0].message.content, "Echo: What is the weather in Paris?");

    messages.push(call.choices[0].message, { role: "tool", tool_call_id: "call_1", content: "9C" });
    const after = await postJson(fake, CHAT, { model: "m", messages, tools: [WEATHER_TOOL] });
    assert.equal(after.choices[0].finish_reason, "stop");
    assert.equal(after.choices[0].message.content, "Echo: What is the weather in Paris?");
  });
});

Deno.test("startFakeOpenAI() streams a chat completion in word pieces", async () => {
  await withFake({}, async (fake) => {
    const request = { model: "m", stream: true, messages: [{ role: "user", content: "a b c" }] };
    const list = await events(await post(fake, CHAT, request));
    assert.deepEqual(list.at(-1), { event: "message", data: "[DONE]" });
    const chunks = jsonData(list);
    assert.ok(chunks.every((c) => c.object === "chat.completion.chunk" && c.id === chunks[0].id));
    assert.ok(chunks.every((c) => c.model === "m" && !("usage" in c)));
    assert.deepEqual(chunks[0].choices[0].delta, { role: "assistant", content: "" });
    const pieces = chunks.slice(1, -1).map((c) => c.choices[0].delta.content);
    assert.deepEqual(pieces, ["Echo:", " a", " b", " c"]);
    assert.deepEqual(chunks.at(-1).choices, [{ index: 0, delta: {}, finish_reason: "stop" }]);

    const withUsage = { ...request, stream_options: { include_usage: true } };
    const usageChunks = jsonData(await events(await post(fake, CHAT, withUsage)));
    const last = usageChunks.at(-1);
    assert.deepEqual(last.choices, []);
    assert.deepEqual(last.usage, { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
    assert.ok(usageChunks.slice(0, -1).every((c) => c.usage === null));
    assert.equal(usageChunks.at(-2).choices[0].finish_reason, "stop");
  });
});

Deno.test("startFakeOpenAI() streams a tool call as OpenAI does", async () => {
  await withFake({}, async (fake) => {
    const request = {
      model: "m",
      stream: true,
      tools: [WEATHER_TOOL],
      messages: [{ role: "user", content: "weather?" }],
    };
    const chunks = jsonData(await events(await post(fake, CHAT, request)));
    assert.deepEqual(chunks[0].choices[0].delta, {
      role: "assistant",
      content: null,
      tool_calls: [{
        index: 0,
        id: "call_1",
        type: "function",
        function: { name: "lookup", arguments: "" },
      }],
    });
    const pieces = chunks.slice(1, -1).map((c) => c.choices[0].delta.tool_calls[0]);
    assert.ok(pieces.length > 1);
    assert.ok(pieces.every((p) => p.index === 0 && !("id" in p)));
    assert.equal(pieces.map((p) => p.function.arguments).join(""), '{"city":"Paris"}');
    assert.equal(chunks.at(-1).choices[0].finish_reason, "tool_calls");
  });
});

Deno.test("startFakeOpenAI() returns deterministic 8-dimension embeddings", async () => {
  await withFake({}, async (fake) => {
    const path = "/v1/embeddings";
    const one = await postJson(fake, path, { model: "e", input: "hello world" });
    assert.equal(one.object, "list");
    assert.equal(one.model, "e");
    assert.deepEqual(one.usage, { prompt_tokens: 2, total_tokens: 2 });
    assert.equal(one.data.length, 1);
    assert.equal(one.data[0].object, "embedding");
    assert.equal(one.data[0].index, 0);
    assert.equal(one.data[0].embedding.length, 8);
    assert.ok(one.data[0].embedding.every((x: number) => x >= -1 && x < 1));

    const many = await postJson(fake, path, { model: "e", input: ["x", "hello world"] });
    assert.deepEqual(many.data.map((d: Any) => d.index), [0, 1]);
    assert.deepEqual(many.data[1].embedding, one.data[0].embedding);
    assert.notDeepEqual(many.data[0].embedding, one.data[0].embedding);
    assert.deepEqual(many.usage, { prompt_tokens: 3, total_tokens: 3 });
  });
});

Deno.test("startFakeOpenAI() lists two models", async () => {
  await withFake({}, async (fake) => {
    const response = await fetch(`${fake.url}/v1/models`);
    assert.deepEqual(await response.json(), {
      object: "list",
      data: [
        { id: "gpt-4o-mini", object: "model", created: 0, owned_by: "fake" },
        { id: "text-embedding-3-small", object: "model", created: 0, owned_by: "fake" },
      ],
    });
  });
});

Deno.test("startFakeOpenAI() answers unknown paths with 404 and bad JSON with 400", async () => {
  await withFake({}, async (fake) => {
    const missing = await post(fake, "/v1/nothing", {});
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), {
      error: {
        message: "Invalid URL (POST /v1/nothing)",
        type: "invalid_request_error",
        param: null,
        code: null,
      },
    });
    const wrongMethod = await fetch(`${fake.url}${CHAT}`);
    assert.equal(wrongMethod.status, 404);
    await wrongMethod.body?.cancel();
    const bad = await post(fake, CHAT, "{not json");
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.type, "invalid_request_error");
  });
});

Deno.test("startFakeOpenAI() echoes the last user input in a Responses API answer", async () => {
  await withFake({}, async (fake) => {
    const text = await postJson(fake, RESPONSES, { model: "m", input: "Hi you" });
    assert.equal(text.id, "resp_fake_1");
    assert.equal(text.object, "response");
    assert.equal(text.status, "completed");
    assert.equal(text.model, "m");
    assert.equal(typeof text.created_at, "number");
    assert.equal(text.incomplete_details, null);
    assert.deepEqual(text.output, [{
      type: "message",
      id: "msg_1",
      role: "assistant",
      status: "completed",
      content: [{ type: "output_text", text: "Echo: Hi you", annotations: [] }],
    }]);
    assert.deepEqual(text.usage, {
      input_tokens: 2,
      output_tokens: 3,
      total_tokens: 5,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens_details: { reasoning_tokens: 0 },
    });

    const items = await postJson(fake, RESPONSES, {
      model: "m",
      input: [
        { role: "user", content: "first" },
        { type: "message", role: "user", content: [{ type: "input_text", text: "second" }] },
      ],
    });
    assert.equal(items.id, "resp_fake_2");
    assert.equal(items.output[0].content[0].text, "Echo: second");
  });
});

Deno.test("startFakeOpenAI() answers a Responses API weather question with a function call", async () => {
  await withFake({}, async (fake) => {
    const tools = [{ type: "function", name: "get_weather", parameters: {} }];
    const answer = await postJson(fake, RESPONSES, { model: "m", input: "weather?", tools });
    assert.deepEqual(answer.output, [{
      type: "function_call",
      id: "fc_1",
      call_id: "call_1",
      name: "get_weather",
      arguments: '{"city":"Paris"}',
      status: "completed",
    }]);
    const input = [
      { role: "user", content: "weather?" },
      answer.output[0],
      { type: "function_call_output", call_id: "call_1", output: "9C" },
    ];
    const after = await postJson(fake, RESPONSES, { model: "m", input, tools });
    assert.equal(after.output[0].type, "message");
  });
});

Deno.test("startFakeOpenAI() streams Responses API text events in the real order", async () => {
  await withFake({}, async (fake) => {
    const list = await events(
      await post(fake, RESPONSES, { model: "m", input: "x y", stream: true }),
    );
    const data = jsonData(list);
    assert.equal(data.length, list.length, "no [DONE] in the Responses API");
    assert.deepEqual(list.map((e) => e.event), data.map((d) => d.type));
    assert.deepEqual(data.map((d) => d.sequence_number), data.map((_, i) => i));
    const types = data.map((d) => d.type);
    assert.deepEqual(types, [
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      ...types.filter((t) => t === "response.output_text.delta"),
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    const deltas = data.filter((d) => d.type === "response.output_text.delta");
    assert.ok(deltas.length > 1);
    assert.ok(deltas.every((d) => d.item_id === "msg_1" && d.output_index === 0));
    assert.equal(deltas.map((d) => d.delta).join(""), "Echo: x y");
    assert.equal(data[0].response.status, "in_progress");
    assert.deepEqual(data[0].response.output, []);
    assert.deepEqual(data[2].item.content, []);
    assert.equal(data[3].part.text, "");
    assert.equal(data.at(-4).text, "Echo: x y");
    assert.equal(data.at(-3).part.text, "Echo: x y");
    const completed = data.at(-1).response;
    assert.equal(completed.status, "completed");
    assert.deepEqual(completed.output, [data.at(-2).item]);
    assert.equal(completed.usage.total_tokens, 5);
  });
});

Deno.test("startFakeOpenAI() streams Responses API function call arguments", async () => {
  await withFake({}, async (fake) => {
    const request = { model: "m", input: "weather", stream: true, tools: [{ name: "w" }] };
    const data = jsonData(await events(await post(fake, RESPONSES, request)));
    const types = data.map((d) => d.type);
    const deltas = data.filter((d) => d.type === "response.function_call_arguments.delta");
    assert.deepEqual(types, [
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      ...deltas.map(() => "response.function_call_arguments.delta"),
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.completed",
    ]);
    assert.deepEqual(data[2].item, {
      type: "function_call",
      id: "fc_1",
      call_id: "call_1",
      name: "w",
      arguments: "",
      status: "in_progress",
    });
    assert.ok(deltas.length > 1 && deltas.every((d) => d.item_id === "fc_1"));
    assert.equal(deltas.map((d) => d.delta).join(""), '{"city":"Paris"}');
    assert.equal(data.at(-3).arguments, '{"city":"Paris"}');
    assert.equal(data.at(-1).response.output[0].status, "completed");
  });
});

Deno.test("startFakeOpenAI() records every request in order", async () => {
  await withFake({}, async (fake) => {
    await (await post(fake, CHAT, { model: "m", messages: [] }, {
      headers: { "X-Trace": "t1", "content-type": "application/json" },
    })).body?.cancel();
    await (await post(fake, "/v1/raw", "not json")).body?.cancel();
    await (await fetch(`${fake.url}/v1/models?limit=1`)).body?.cancel();
    assert.deepEqual(fake.requests.map((r) => [r.method, r.path, r.body]), [
      ["POST", CHAT, { model: "m", messages: [] }],
      ["POST", "/v1/raw", "not json"],
      ["GET", "/v1/models", null],
    ]);
    assert.equal(fake.requests[0]!.headers["x-trace"], "t1");
  });
});

Deno.test("FakeOpenAI.enqueue() replies in order per path, then falls back to the default", async () => {
  await withFake({}, async (fake) => {
    fake.enqueue(CHAT, { status: 500, body: { error: "first" } }, {
      status: 429,
      headers: { "retry-after": "2", "x-ratelimit-reset-requests": "1s" },
      body: { error: "second" },
    });
    fake.enqueue("/v1/other", { body: { other: true } });
    const request = { model: "m", messages: [{ role: "user", content: "hi" }] };
    const first = await post(fake, CHAT, request);
    assert.equal(first.status, 500);
    assert.deepEqual(await first.json(), { error: "first" });
    const second = await post(fake, CHAT, request);
    assert.equal(second.status, 429);
    assert.equal(second.headers.get("retry-after"), "2");
    assert.equal(second.headers.get("x-ratelimit-reset-requests"), "1s");
    assert.equal(second.headers.get("content-type"), "application/json");
    assert.deepEqual(await second.json(), { error: "second" });
    const third = await postJson(fake, CHAT, request);
    assert.equal(third.choices[0].message.content, "Echo: hi");
    assert.deepEqual(await (await fetch(`${fake.url}/v1/other`)).json(), { other: true });
  });
});

Deno.test("FakeReply.rawBody is sent as is and headers override the content type", async () => {
  await withFake({}, async (fake) => {
    fake.enqueue(CHAT, { rawBody: '{"choices": [' }, {
      rawBody: "<html>bad gateway</html>",
      status: 502,
      headers: { "content-type": "text/html" },
    }, { status: 204 });
    const malformed = await post(fake, CHAT, {});
    assert.equal(malformed.headers.get("content-type"), "application/json");
    assert.equal(await malformed.text(), '{"choices": [');
    const html = await post(fake, CHAT, {});
    assert.equal(html.status, 502);
    assert.equal(html.headers.get("content-type"), "text/html");
    assert.equal(await html.text(), "<html>bad gateway</html>");
    const empty = await post(fake, CHAT, {});
    assert.equal(empty.status, 204);
    assert.equal(await empty.text(), "");
  });
});

Deno.test("FakeReply.events writes strings raw and encodes objects", async () => {
  await withFake({}, async (fake) => {
    const raw = ': keep-alive\r\ndata: {"a":1}\r\n\r\n';
    fake.enqueue(CHAT, {
      events: [raw, { data: "line1\nline2", event: "custom" }, "data: [DONE]"],
    });
    const response = await post(fake, CHAT, {});
    assert.equal(response.headers.get("cache-control"), "no-cache");
    assert.equal(
      await response.text(),
      `${raw}event: custom\ndata: line1\ndata: line2\n\ndata: [DONE]`,
    );
  });
});

Deno.test("FakeReply.delayMs waits before sending the headers", async () => {
  await withFake({}, async (fake) => {
    fake.enqueue("/v1/models", { delayMs: 150, body: [] });
    const start = performance.now();
    const response = await fetch(`${fake.url}/v1/models`);
    assert.ok(performance.now() - start >= 140);
    assert.deepEqual(await response.json(), []);
  });
});

Deno.test("FakeReply.eventDelayMs and chunkDelayMs pace the events", async () => {
  await withFake({ chunkDelayMs: 60 }, async (fake) => {
    const three = [{ data: "1" }, { data: "2" }, { data: "3" }];
    fake.enqueue(CHAT, { events: three }, { events: three, eventDelayMs: 0 });
    for (const minimum of [110, 0]) {
      const start = performance.now();
      const response = await post(fake, CHAT, {});
      const arrivals: number[] = [];
      for await (const _ of readSse(response.body!)) arrivals.push(performance.now() - start);
      assert.equal(arrivals.length, 3);
      assert.ok(arrivals[2]! - arrivals[0]! >= minimum, `${arrivals} paced by ${minimum}`);
      if (minimum === 0) assert.ok(arrivals[2]! - arrivals[0]! < 100);
    }
    const paced = await post(fake, CHAT, {
      model: "m",
      stream: true,
      messages: [{ role: "user", content: "x" }],
    });
    const start = performance.now();
    assert.equal((await events(paced)).length, 5);
    assert.ok(performance.now() - start >= 200, "default answers follow chunkDelayMs");
  });
});

Deno.test("FakeReply.dropAfterEvents cuts the connection mid-stream", async () => {
  await withFake({}, async (fake) => {
    const all = chatChunkEvents(["a", "b", "c"]);
    fake.enqueue(CHAT, { events: all, dropAfterEvents: 2 }, { events: all, dropAfterEvents: 0 });
    const { text, error } = await readUntilError(await post(fake, CHAT, {}));
    assert.ok(error instanceof TypeError, `expected a read error, got ${error}`);
    const sent = all.slice(0, 2).map((e) => typeof e === "string" ? e : `data: ${e.data}\n\n`);
    assert.equal(text, sent.join(""));
    assert.ok(!text.includes("[DONE]"));

    const none = await readUntilError(await post(fake, CHAT, {}));
    assert.ok(none.error instanceof TypeError);
    assert.equal(none.text, "");

    const parsed: string[] = [];
    fake.enqueue(CHAT, { events: all, dropAfterEvents: 3 });
    await assert.rejects(async () => {
      for await (const event of readSse((await post(fake, CHAT, {})).body!)) {
        parsed.push(event.data);
      }
    }, TypeError);
    assert.equal(parsed.length, 3);
  });
});

Deno.test("FakeReply.hang never answers, so the client times out", async () => {
  await withFake({}, async (fake) => {
    fake.enqueue(CHAT, { hang: true });
    await assert.rejects(
      post(fake, CHAT, {}, { signal: AbortSignal.timeout(100) }),
      (error: Error) => error.name === "TimeoutError",
    );
    const answer = await postJson(fake, CHAT, { model: "m", messages: [] });
    assert.equal(answer.object, "chat.completion");
  });
});

Deno.test("FakeOpenAI.close() aborts hung and streaming responses", async () => {
  const fake = await startFakeOpenAI();
  fake.enqueue(CHAT, { hang: true });
  fake.enqueue(RESPONSES, { events: [{ data: "1" }, { data: "2" }], eventDelayMs: 60_000 });
  const hung = post(fake, CHAT, {});
  const streaming = await post(fake, RESPONSES, {});
  const reader = streaming.body!.getReader();
  assert.equal(new TextDecoder().decode((await reader.read()).value), "data: 1\n\n");
  await until(() => fake.requests.length === 2);
  const start = performance.now();
  await fake.close();
  assert.ok(performance.now() - start < 5_000);
  await assert.rejects(reader.read(), TypeError);
  // Deno.serve cannot drop a connection before its headers: the hung client gets a body that fails.
  const hungResponse = await hung;
  await assert.rejects(hungResponse.text(), TypeError);
  await assert.rejects(fetch(`${fake.url}/v1/models`), TypeError);
});

Deno.test("startFakeOpenAI() refuses requests without the API key", async () => {
  await withFake({ apiKey: "sk-test" }, async (fake) => {
    fake.enqueue("/v1/models", { body: { queued: true } });
    for (const headers of [{}, { authorization: "Bearer wrong" }, { authorization: "sk-test" }]) {
      const response = await fetch(`${fake.url}/v1/models`, { headers });
      assert.equal(response.status, 401);
      const body = await response.json();
      assert.equal(body.error.type, "invalid_request_error");
      assert.equal(body.error.code, "invalid_api_key");
      assert.equal(body.error.param, null);
      assert.equal(typeof body.error.message, "string");
    }
    const ok = await fetch(`${fake.url}/v1/models`, {
      headers: { authorization: "Bearer sk-test" },
    });
    assert.deepEqual(await ok.json(), { queued: true });
    assert.equal(fake.requests.length, 4);
  });
});

Deno.test("chatCompletion() builds a chat.completion body", () => {
  const body = chatCompletion("Hi there", { model: "x", id: "c1" });
  assert.equal(body.object, "chat.completion");
  assert.equal(body.id, "c1");
  assert.equal(body.model, "x");
  assert.deepEqual(body.choices[0]!.message, { role: "assistant", content: "Hi there" });
  assert.equal(body.choices[0]!.finish_reason, "stop");
  assert.deepEqual(body.usage, { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 });
  const usage = { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 };
  assert.deepEqual(chatCompletion("", { usage }).usage, usage);
  assert.equal(chatCompletion("").choices[0]!.message.content, "");
});

Deno.test("chatChunkEvents() builds parseable chunks ending with [DONE]", () => {
  const list = chatChunkEvents(["Hel", "lo"], { model: "x", finishReason: "length" });
  assert.deepEqual(list.at(-1), { data: "[DONE]" });
  const chunks = list.slice(0, -1).map((e) => JSON.parse(typeof e === "string" ? e : e.data));
  assert.deepEqual(chunks.map((c) => c.choices[0].delta), [
    { role: "assistant", content: "" },
    { content: "Hel" },
    { content: "lo" },
    {},
  ]);
  assert.equal(chunks.at(-1).choices[0].finish_reason, "length");
  assert.ok(chunks.every((c) => c.model === "x" && c.object === "chat.completion.chunk"));

  const toolCalls = [{
    id: "call_7",
    type: "function" as const,
    function: { name: "f", arguments: '{"a":1}' },
  }];
  const tools = chatChunkEvents([], { toolCalls, includeUsage: true }).slice(0, -1)
    .map((e) => JSON.parse(typeof e === "string" ? e : e.data));
  assert.equal(tools[0].choices[0].delta.tool_calls[0].id, "call_7");
  assert.equal(tools.at(-2).choices[0].finish_reason, "tool_calls");
  assert.deepEqual(tools.at(-1).choices, []);
  assert.equal(tools.at(-1).usage.prompt_tokens, 1);
});
