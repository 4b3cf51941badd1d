/**
 * The official `openai` client, in front of bin/upstream-codex through the test shim, parses
 * what the plugin makes of Responses API answers: completions, streams, tool calls both ways
 * (through the SDK's own tool runner) and errors.
 */

import assert from "node:assert/strict";
import OpenAI from "openai";
import { startOpenAIShim } from "../../tests/_openai_shim.ts";
import { lastBody, withPlugin } from "./_testing.ts";

const ROUTE = { upstream: "codex", model: "codex-mini" };

async function withClient(fn: (client: OpenAI, fake: { requests: unknown[] }) => Promise<void>) {
  await withPlugin(async ({ fake, plugin, chunks }) => {
    const shim = startOpenAIShim(plugin, chunks, ROUTE);
    try {
      const client = new OpenAI({ baseURL: shim.baseURL, apiKey: "client-key", maxRetries: 0 });
      await fn(client, fake);
      if (fake.requests.length > 0) assert.equal(lastBody(fake).model, "codex-mini");
    } finally {
      await shim.close();
    }
  });
}

Deno.test("the openai client reads a chat completion made from a Responses answer", async () => {
  await withClient(async (client) => {
    const completion = await client.chat.completions.create({
      model: "codex",
      messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "hello" }],
    });
    assert.equal(completion.object, "chat.completion");
    assert.equal(completion.choices[0]!.message.content, "Echo: hello");
    assert.equal(completion.choices[0]!.finish_reason, "stop");
    assert.equal(completion.usage?.completion_tokens_details?.reasoning_tokens, 0);
    assert.equal(completion.usage?.prompt_tokens_details?.cached_tokens, 0);
  });
});

Deno.test("the openai client streams text and the final usage chunk", async () => {
  await withClient(async (client) => {
    const stream = await client.chat.completions.create({
      model: "codex",
      messages: [{ role: "user", content: "count to three" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | null | undefined;
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    assert.equal(text, "Echo: count to three");
    assert.equal(finish, "stop");
    assert.equal(usage?.total_tokens, 7);
  });
});

Deno.test("the openai stream helper assembles streamed tool-call arguments", async () => {
  await withClient(async (client) => {
    const stream = client.chat.completions.stream({
      model: "codex",
      messages: [{ role: "user", content: "What is the weather in Paris?" }],
      tools: [{
        type: "function",
        function: { name: "get_weather", parameters: { type: "object", properties: {} } },
      }],
    });
    const argumentDeltas: string[] = [];
    stream.on(
      "tool_calls.function.arguments.delta",
      (event) => argumentDeltas.push(event.arguments_delta),
    );
    const completion = await stream.finalChatCompletion();
    const choice = completion.choices[0]!;
    assert.equal(choice.finish_reason, "tool_calls");
    const call = choice.message.tool_calls?.[0];
    assert.ok(call && call.type === "function");
    assert.equal(call.id, "call_1");
    assert.equal(call.function.name, "get_weather");
    assert.deepEqual(JSON.parse(call.function.arguments), { city: "Paris" });
    assert.ok(argumentDeltas.length >= 3, `arguments arrive in pieces: ${argumentDeltas}`);
  });
});

Deno.test("the openai tool runner completes a round trip: tool call out, tool result back", async () => {
  for (const stream of [false, true]) {
    await withClient(async (client, fake) => {
      const seen: unknown[] = [];
      const body = {
        model: "codex",
        messages: [{ role: "user" as const, content: "What is the weather in Paris?" }],
        tools: [{
          type: "function" as const,
          function: {
            name: "get_weather",
            description: "Weather of a city",
            parameters: { type: "object", properties: { city: { type: "string" } } },
            parse: JSON.parse,
            function: (args: unknown) => {
              seen.push(args);
              return "21°C, sunny";
            },
          },
        }],
      };
      const runner = stream
        ? client.chat.completions.runTools({ ...body, stream: true })
        : client.chat.completions.runTools({ ...body, stream: false });
      const content = await runner.finalContent();
      assert.deepEqual(seen, [{ city: "Paris" }]);
      assert.equal(content, "Echo: What is the weather in Paris?");
      assert.equal(fake.requests.length, 2);
      const input = lastBody(fake as never).input as Record<string, unknown>[];
      assert.deepEqual(input.slice(1), [
        {
          type: "function_call",
          call_id: "call_1",
          name: "get_weather",
          arguments: '{"city":"Paris"}',
        },
        { type: "function_call_output", call_id: "call_1", output: "21°C, sunny" },
      ]);
    });
  }
});

Deno.test("the openai client sees upstream errors as API errors with their status", async () => {
  await withPlugin(async ({ fake, plugin, chunks }) => {
    const shim = startOpenAIShim(plugin, chunks, ROUTE);
    try {
      const client = new OpenAI({ baseURL: shim.baseURL, apiKey: "client-key", maxRetries: 0 });
      fake.enqueue("/v1/responses", {
        status: 429,
        headers: { "retry-after": "1" },
        body: {
          error: { message: "Slow down", type: "rate_limit_error", param: null, code: null },
        },
      });
      const error = await client.chat.completions.create({
        model: "codex",
        messages: [{ role: "user", content: "hi" }],
      }).then(() => null, (e) => e);
      assert.ok(error instanceof OpenAI.RateLimitError, String(error));
      assert.equal(error.status, 429);
      assert.match(error.message, /Slow down/);
      const refused = await client.chat.completions.create({
        model: "codex",
        messages: [{ role: "user", content: "hi" }],
        n: 2,
      }).then(() => null, (e) => e);
      assert.ok(refused instanceof OpenAI.BadRequestError, String(refused));
      assert.equal(refused.param, "n");
    } finally {
      await shim.close();
    }
  });
});
