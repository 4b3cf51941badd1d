/**
 * bin/upstream-codex as a process, with its real flags, against the fake OpenAI server: the
 * lifecycle, every request and response mapping, streaming and tool calls both ways.
 * Errors, timeouts and cancellation are in errors_test.ts.
 */

import assert from "node:assert/strict";
import { checkHealth, PluginProcess } from "@vulpes/contract/host";
import { PluginError } from "@vulpes/contract/protocol";
import { startFakeOpenAI } from "@vulpes/contract/testing";
import { assertConfigRefused, assertConformant, pluginBinary } from "../../tests/_support.ts";
import {
  API_KEY,
  chatParams,
  configFor,
  failure,
  lastBody,
  streamed,
  withPlugin,
} from "./_testing.ts";

type Json = Record<string, unknown>;

const WEATHER_TOOL = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Weather of a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

Deno.test("bin/upstream-codex passes the conformance check", async () => {
  const fake = await startFakeOpenAI();
  try {
    await assertConformant(pluginBinary("upstream-codex"), { config: configFor(fake) });
  } finally {
    await fake.close();
  }
});

Deno.test("bin/upstream-codex refuses a bad config naming every field, without the secret", async () => {
  const error = await assertConfigRefused(
    PluginProcess.start({
      command: pluginBinary("upstream-codex"),
      instance: "codex",
      capabilities: ["upstream_provider"],
      config: {
        base_url: "ftp://x",
        api_key: API_KEY,
        store: "yes",
        timeouts: { idle_ms: -1 },
        model: "x",
      },
      onLog: () => {},
      restart: false,
    }),
    ["base_url", "model", "store", "timeouts.idle_ms"],
  );
  assert.ok(!JSON.stringify({ message: error.message, data: error.data }).includes(API_KEY));
});

Deno.test("bin/upstream-codex maps a full chat request to the Responses API", async () => {
  await withPlugin(async ({ fake, client }) => {
    await client.chat(chatParams({
      model: "whatever-the-client-said",
      messages: [
        { role: "system", content: "Be terse." },
        {
          role: "user",
          content: [{ type: "text", text: "hi" }, {
            type: "image_url",
            image_url: { url: "data:image/png;base64,AA" },
          }],
        },
      ],
      max_tokens: 64,
      reasoning_effort: "low",
      response_format: { type: "json_object" },
      temperature: 0.1,
      tools: [WEATHER_TOOL],
      tool_choice: { type: "function", function: { name: "get_weather" } },
      parallel_tool_calls: false,
      store: true,
      n: 1,
    }));
    const request = fake.requests.at(-1)!;
    assert.equal(request.path, "/v1/responses");
    assert.equal(request.headers.authorization, `Bearer ${API_KEY}`);
    assert.deepEqual(request.body, {
      model: "codex-mini",
      instructions: "Be terse.",
      input: [{
        role: "user",
        content: [
          { type: "input_text", text: "hi" },
          { type: "input_image", image_url: "data:image/png;base64,AA", detail: "auto" },
        ],
      }],
      tools: [{
        type: "function",
        name: "get_weather",
        description: "Weather of a city",
        parameters: WEATHER_TOOL.function.parameters,
        strict: false,
      }],
      tool_choice: { type: "function", name: "get_weather" },
      temperature: 0.1,
      parallel_tool_calls: false,
      max_output_tokens: 64,
      reasoning: { effort: "low" },
      text: { format: { type: "json_object" } },
      store: false,
      stream: false,
    });
  });
});

Deno.test("bin/upstream-codex sends store: true when configured, and the extra headers", async () => {
  await withPlugin(async ({ fake, client }) => {
    await client.chat(chatParams({ messages: [{ role: "user", content: "hi" }] }));
    assert.equal(lastBody(fake).store, true);
    assert.equal(fake.requests.at(-1)!.headers["x-team"], "core");
    assert.equal(fake.requests.at(-1)!.headers["openai-project"], "proj_1");
  }, { config: { store: true, headers: { "X-Team": "core" }, project: "proj_1" } });
});

Deno.test("bin/upstream-codex answers a chat completion with text and usage", async () => {
  await withPlugin(async ({ client }) => {
    const result = await client.chat(chatParams({
      messages: [{ role: "user", content: "hello there" }],
    }));
    assert.ok("response" in result);
    const response = result.response as Json;
    assert.equal(response.object, "chat.completion");
    assert.equal(response.model, "codex-mini");
    assert.match(String(response.id), /^resp_fake_/);
    assert.deepEqual(response.choices, [{
      index: 0,
      message: { role: "assistant", content: "Echo: hello there", refusal: null },
      logprobs: null,
      finish_reason: "stop",
    }]);
    assert.deepEqual(response.usage, {
      prompt_tokens: 2,
      completion_tokens: 3,
      total_tokens: 5,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0 },
    });
  });
});

Deno.test("bin/upstream-codex carries tool calls both ways", async () => {
  await withPlugin(async ({ fake, client }) => {
    const messages: Json[] = [{ role: "user", content: "What is the weather in Paris?" }];
    const first = await client.chat(chatParams({ messages, tools: [WEATHER_TOOL] }));
    const choice = ((first as { response: Json }).response.choices as Json[])[0]!;
    assert.equal(choice.finish_reason, "tool_calls");
    const message = choice.message as Json;
    assert.equal(message.content, null);
    assert.deepEqual(message.tool_calls, [{
      id: "call_1",
      type: "function",
      function: { name: "get_weather", arguments: '{"city":"Paris"}' },
    }]);
    messages.push(message, { role: "tool", tool_call_id: "call_1", content: "21°C, sunny" });
    const second = await client.chat(chatParams({ messages, tools: [WEATHER_TOOL] }));
    assert.deepEqual(lastBody(fake).input, [
      { role: "user", content: "What is the weather in Paris?" },
      {
        type: "function_call",
        call_id: "call_1",
        name: "get_weather",
        arguments: '{"city":"Paris"}',
      },
      { type: "function_call_output", call_id: "call_1", output: "21°C, sunny" },
    ]);
    const answer = ((second as { response: Json }).response.choices as Json[])[0]!;
    assert.equal(answer.finish_reason, "stop");
    assert.equal((answer.message as Json).content, "Echo: What is the weather in Paris?");
  });
});

Deno.test("bin/upstream-codex streams text as chunks, then a usage chunk", async () => {
  await withPlugin(async ({ fake, client }) => {
    const { chunks, summary } = await streamed(client, {
      messages: [{ role: "user", content: "stream this please" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    assert.equal(lastBody(fake).stream, true);
    assert.equal(fake.requests.at(-1)!.headers.accept, "text/event-stream");
    assert.ok(chunks.every((chunk) => chunk.object === "chat.completion.chunk"));
    const deltas = chunks.flatMap((chunk) =>
      (chunk.choices as { delta: Json }[]).map((c) => c.delta)
    );
    assert.equal(deltas[0]!.role, "assistant");
    const text = deltas.map((delta) => delta.content ?? "").join("");
    assert.equal(text, "Echo: stream this please");
    assert.ok(deltas.filter((delta) => delta.content).length >= 3, "text arrives in pieces");
    const finish = chunks.at(-2)!.choices as Json[];
    assert.equal(finish[0]!.finish_reason, "stop");
    assert.deepEqual(chunks.at(-1)!.choices, []);
    assert.deepEqual(chunks.at(-1)!.usage, summary.usage);
    assert.equal(summary.finish_reason, "stop");
    assert.equal(summary.usage?.total_tokens, 7);
  });
});

Deno.test("bin/upstream-codex streams tool-call arguments incrementally", async () => {
  await withPlugin(async ({ client }) => {
    const { chunks, summary } = await streamed(client, {
      messages: [{ role: "user", content: "weather in Paris?" }],
      tools: [WEATHER_TOOL],
    });
    const calls = chunks.flatMap((chunk) =>
      (chunk.choices as { delta: { tool_calls?: Json[] } }[]).flatMap((c) =>
        c.delta.tool_calls ?? []
      )
    );
    assert.deepEqual(calls[0], {
      index: 0,
      id: "call_1",
      type: "function",
      function: { name: "get_weather", arguments: "" },
    });
    const pieces = calls.slice(1).map((call) => (call.function as Json).arguments);
    assert.ok(pieces.length >= 3, `arguments arrive in pieces: ${JSON.stringify(pieces)}`);
    assert.equal(pieces.join(""), '{"city":"Paris"}');
    assert.equal(summary.finish_reason, "tool_calls");
  });
});

Deno.test("bin/upstream-codex maps an incomplete response to finish_reason length", async () => {
  await withPlugin(async ({ fake, client }) => {
    const response = {
      id: "resp_x",
      object: "response",
      created_at: 1,
      model: "codex-mini",
      status: "incomplete",
      incomplete_details: { reason: "max_output_tokens" },
      output: [{
        type: "message",
        role: "assistant",
        content: [{ type: "output_text", text: "Partial", annotations: [] }],
      }],
      usage: { input_tokens: 1, output_tokens: 16, total_tokens: 17 },
    };
    fake.enqueue("/v1/responses", { body: response }, {
      events: [
        {
          event: "response.created",
          data: JSON.stringify({
            type: "response.created",
            response: { ...response, status: "in_progress" },
          }),
        },
        {
          data: JSON.stringify({
            type: "response.output_text.delta",
            item_id: "m",
            content_index: 0,
            delta: "Partial",
          }),
        },
        { data: JSON.stringify({ type: "response.incomplete", response }) },
      ],
    });
    const request = { messages: [{ role: "user", content: "x" }], max_completion_tokens: 16 };
    const result = await client.chat(chatParams(request));
    const choice = ((result as { response: Json }).response.choices as Json[])[0]!;
    assert.equal(choice.finish_reason, "length");
    const { chunks, summary } = await streamed(client, request);
    assert.equal(summary.finish_reason, "length");
    assert.equal(summary.usage?.completion_tokens, 16);
    assert.deepEqual(chunks.at(-1)!.choices, []);
  });
});

Deno.test("bin/upstream-codex uses an allowed route base_url and refuses any other", async () => {
  await withPlugin(async ({ fake, client }) => {
    const route = (base_url: string) => ({
      upstream: "codex",
      model: "codex-mini",
      options: { base_url },
    });
    const request = { messages: [{ role: "user", content: "hi" }] };
    const ok = await client.chat({ route: route(`${fake.url}/v1`), request, stream: false });
    assert.ok("response" in ok);
    const before = fake.requests.length;
    const error = await failure(
      client.chat({ route: route("http://127.0.0.2:9/v1"), request, stream: false }),
    );
    assert.ok(error instanceof PluginError);
    assert.equal(error.type, "bad_request");
    assert.match(error.message, /Route option "base_url"/);
    assert.equal(fake.requests.length, before);
  }, { config: { allowed_base_urls: ["http://127.0.0.1:"] } });
});

Deno.test("bin/upstream-codex refuses an unmappable request without calling upstream", async () => {
  await withPlugin(async ({ fake, client }) => {
    const error = await failure(client.chat(chatParams({
      messages: [{ role: "user", content: "hi" }],
      n: 3,
    })));
    assert.ok(error instanceof PluginError);
    assert.equal(error.type, "bad_request");
    assert.equal(error.data.param, "n");
    assert.equal(error.data.status, 400);
    assert.equal(fake.requests.length, 0);
  });
});

Deno.test("bin/upstream-codex lists the upstream's models, has no embeddings, and reports health", async () => {
  await withPlugin(async ({ plugin, client }) => {
    assert.deepEqual(await client.models(), {
      models: [
        { id: "gpt-4o-mini", owned_by: "fake" },
        { id: "text-embedding-3-small", owned_by: "fake" },
      ],
    });
    const error = await failure(
      client.embeddings({ route: { upstream: "codex", model: "m" }, request: { input: "x" } }),
    );
    assert.equal((error as { code?: number }).code, -32601);
    assert.deepEqual(await checkHealth(plugin), {
      status: "ok",
      detail: { calls: 1, failures: 0, in_flight: 0 },
    });
  });
});
