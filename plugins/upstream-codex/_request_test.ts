import assert from "node:assert/strict";
import { PluginError } from "@vulpes/contract/plugin";
import { responsesBody } from "./_request.ts";

const OPTIONS = { stream: false, store: false };

function body(request: Record<string, unknown>, options = OPTIONS) {
  return responsesBody(request, "codex-mini", options);
}

function user(text = "hi") {
  return { role: "user", content: text };
}

function refusal(request: Record<string, unknown>): PluginError {
  try {
    body(request);
  } catch (error) {
    assert.ok(error instanceof PluginError);
    return error;
  }
  assert.fail("expected a bad_request");
}

Deno.test("responsesBody() sends the route's model, store and stream", () => {
  assert.deepEqual(body({ model: "client-model", messages: [user()] }), {
    model: "codex-mini",
    input: [{ role: "user", content: "hi" }],
    store: false,
    stream: false,
  });
  const streamed = body({ messages: [user()], stream: true, store: true }, {
    stream: true,
    store: true,
  });
  assert.equal(streamed.stream, true);
  assert.equal(streamed.store, true);
});

Deno.test("responsesBody() ignores the client's store: config decides", () => {
  assert.equal(body({ messages: [user()], store: true }).store, false);
});

Deno.test("responsesBody() turns leading system and developer messages into instructions", () => {
  const result = body({
    messages: [
      { role: "system", content: "Be terse." },
      {
        role: "developer",
        content: [{ type: "text", text: "Use " }, { type: "text", text: "TS" }],
      },
      user(),
    ],
  });
  assert.equal(result.instructions, "Be terse.\n\nUse TS");
  assert.deepEqual(result.input, [{ role: "user", content: "hi" }]);
});

Deno.test("responsesBody() keeps a later system message in place as a developer item", () => {
  const result = body({
    messages: [user("a"), { role: "system", content: "Now in French" }, user("b")],
  });
  assert.equal(result.instructions, undefined);
  assert.deepEqual(result.input, [
    { role: "user", content: "a" },
    { role: "developer", content: "Now in French" },
    { role: "user", content: "b" },
  ]);
});

Deno.test("responsesBody() maps user text, image and file parts", () => {
  const result = body({
    messages: [{
      role: "user",
      content: [
        { type: "text", text: "What is this?" },
        { type: "image_url", image_url: { url: "https://x.test/a.png", detail: "high" } },
        { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
        { type: "file", file: { file_data: "data:application/pdf;base64,AA", filename: "a.pdf" } },
        { type: "file", file: { file_id: "file-1" } },
      ],
    }],
  });
  assert.deepEqual(result.input, [{
    role: "user",
    content: [
      { type: "input_text", text: "What is this?" },
      { type: "input_image", image_url: "https://x.test/a.png", detail: "high" },
      { type: "input_image", image_url: "data:image/png;base64,AAAA", detail: "auto" },
      { type: "input_file", file_data: "data:application/pdf;base64,AA", filename: "a.pdf" },
      { type: "input_file", file_id: "file-1" },
    ],
  }]);
});

Deno.test("responsesBody() refuses audio input naming the part", () => {
  const error = refusal({
    messages: [{
      role: "user",
      content: [{ type: "text", text: "x" }, {
        type: "input_audio",
        input_audio: { data: "", format: "wav" },
      }],
    }],
  });
  assert.equal(error.type, "bad_request");
  assert.equal(error.data.status, 400);
  assert.equal(error.data.param, "messages[0].content[1]");
  assert.match(error.message, /audio input is not supported/);
});

Deno.test("responsesBody() maps assistant text and tool calls to function_call items", () => {
  const result = body({
    messages: [
      user("weather?"),
      {
        role: "assistant",
        content: "Let me look.",
        tool_calls: [
          {
            id: "call_1",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Paris"}' },
          },
          { id: "call_2", type: "function", function: { name: "get_time", arguments: "{}" } },
        ],
      },
      { role: "tool", tool_call_id: "call_1", content: '{"temp":21}' },
      { role: "tool", tool_call_id: "call_2", content: [{ type: "text", text: "noon" }] },
    ],
  });
  assert.deepEqual(result.input, [
    { role: "user", content: "weather?" },
    { role: "assistant", content: "Let me look." },
    {
      type: "function_call",
      call_id: "call_1",
      name: "get_weather",
      arguments: '{"city":"Paris"}',
    },
    { type: "function_call", call_id: "call_2", name: "get_time", arguments: "{}" },
    { type: "function_call_output", call_id: "call_1", output: '{"temp":21}' },
    { type: "function_call_output", call_id: "call_2", output: "noon" },
  ]);
});

Deno.test("responsesBody() leaves out an assistant message with null content", () => {
  const result = body({
    messages: [user(), {
      role: "assistant",
      content: null,
      tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "{}" } }],
    }],
  });
  assert.deepEqual(result.input, [
    { role: "user", content: "hi" },
    { type: "function_call", call_id: "c", name: "f", arguments: "{}" },
  ]);
});

Deno.test("responsesBody() keeps an assistant refusal as its text", () => {
  const result = body({
    messages: [user(), { role: "assistant", content: null, refusal: "I cannot" }, user()],
  });
  assert.deepEqual((result.input as unknown[])[1], { role: "assistant", content: "I cannot" });
});

Deno.test("responsesBody() refuses a tool message without tool_call_id", () => {
  const error = refusal({ messages: [user(), { role: "tool", content: "x" }] });
  assert.equal(error.data.param, "messages[1].tool_call_id");
});

Deno.test("responsesBody() refuses legacy function messages and unknown roles", () => {
  const error = refusal({
    messages: [user(), { role: "function", name: "f", content: "x" }, { role: "robot" }],
  });
  const paths = (error.data.errors ?? []).map((issue) => issue.path);
  assert.deepEqual(paths, ["messages[1].role", "messages[2].role"]);
});

Deno.test("responsesBody() refuses missing or empty messages", () => {
  assert.equal(refusal({}).data.param, "messages");
  assert.equal(refusal({ messages: [] }).data.param, "messages");
});

Deno.test("responsesBody() flattens function tools, lax and with parameters by default", () => {
  const result = body({
    messages: [user()],
    tools: [
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Weather of a city",
          parameters: { type: "object", properties: { city: { type: "string" } } },
          strict: true,
        },
      },
      { type: "function", function: { name: "now" } },
    ],
    parallel_tool_calls: false,
  });
  assert.deepEqual(result.tools, [
    {
      type: "function",
      name: "get_weather",
      description: "Weather of a city",
      parameters: { type: "object", properties: { city: { type: "string" } } },
      strict: true,
    },
    {
      type: "function",
      name: "now",
      parameters: { type: "object", properties: {} },
      strict: false,
    },
  ]);
  assert.equal(result.parallel_tool_calls, false);
});

Deno.test("responsesBody() refuses tools that are not functions", () => {
  const error = refusal({
    messages: [user()],
    tools: [{ type: "custom", custom: { name: "x" } }],
  });
  assert.equal(error.data.param, "tools[0]");
  assert.match(error.message, /only function tools are supported, received "custom"/);
});

Deno.test("responsesBody() maps every tool_choice form", () => {
  const choice = (tool_choice: unknown) => body({ messages: [user()], tool_choice }).tool_choice;
  assert.equal(choice("auto"), "auto");
  assert.equal(choice("none"), "none");
  assert.equal(choice("required"), "required");
  assert.deepEqual(choice({ type: "function", function: { name: "f" } }), {
    type: "function",
    name: "f",
  });
  assert.deepEqual(
    choice({
      type: "allowed_tools",
      allowed_tools: { mode: "required", tools: [{ type: "function", function: { name: "f" } }] },
    }),
    { type: "allowed_tools", mode: "required", tools: [{ type: "function", name: "f" }] },
  );
  assert.equal(refusal({ messages: [user()], tool_choice: "sometimes" }).data.param, "tool_choice");
});

Deno.test("responsesBody() maps max_completion_tokens, else max_tokens, to max_output_tokens", () => {
  assert.equal(body({ messages: [user()], max_tokens: 100 }).max_output_tokens, 100);
  assert.equal(
    body({ messages: [user()], max_tokens: 100, max_completion_tokens: 200 }).max_output_tokens,
    200,
  );
  assert.equal(
    body({ messages: [user()], max_tokens: 50, max_completion_tokens: null }).max_output_tokens,
    50,
  );
  assert.equal("max_output_tokens" in body({ messages: [user()] }), false);
});

Deno.test("responsesBody() maps reasoning_effort to reasoning.effort", () => {
  assert.deepEqual(body({ messages: [user()], reasoning_effort: "high" }).reasoning, {
    effort: "high",
  });
});

Deno.test("responsesBody() maps response_format and verbosity to text", () => {
  const text = (request: Record<string, unknown>) => body({ messages: [user()], ...request }).text;
  assert.deepEqual(text({ response_format: { type: "json_object" } }), {
    format: { type: "json_object" },
  });
  assert.deepEqual(text({ response_format: { type: "text" }, verbosity: "low" }), {
    format: { type: "text" },
    verbosity: "low",
  });
  assert.deepEqual(
    text({
      response_format: {
        type: "json_schema",
        json_schema: { name: "answer", schema: { type: "object" }, strict: true, description: "d" },
      },
    }),
    {
      format: {
        type: "json_schema",
        name: "answer",
        schema: { type: "object" },
        description: "d",
        strict: true,
      },
    },
  );
  assert.equal(text({}), undefined);
  assert.equal(
    refusal({ messages: [user()], response_format: { type: "yaml" } }).data.param,
    "response_format",
  );
});

Deno.test("responsesBody() copies sampling and bookkeeping fields, skipping nulls", () => {
  const result = body({
    messages: [user()],
    temperature: 0.2,
    top_p: 0.9,
    metadata: { team: "a" },
    user: "u-1",
    safety_identifier: "s-1",
    prompt_cache_key: "k",
    service_tier: "flex",
    seed: 7,
    stream_options: { include_usage: true },
    prediction: { type: "content", content: "x" },
    top_k: null,
  });
  assert.deepEqual(result, {
    model: "codex-mini",
    input: [{ role: "user", content: "hi" }],
    temperature: 0.2,
    top_p: 0.9,
    metadata: { team: "a" },
    user: "u-1",
    safety_identifier: "s-1",
    prompt_cache_key: "k",
    service_tier: "flex",
    store: false,
    stream: false,
  });
});

Deno.test("responsesBody() drops unsupported fields whose value changes nothing", () => {
  const result = body({
    messages: [user()],
    n: 1,
    stop: [],
    presence_penalty: 0,
    frequency_penalty: 0,
    logit_bias: {},
    logprobs: false,
    modalities: ["text"],
    audio: null,
  });
  assert.deepEqual(Object.keys(result), ["model", "input", "store", "stream"]);
});

Deno.test("responsesBody() refuses unsupported fields, listing every one", () => {
  const error = refusal({
    messages: [user()],
    n: 2,
    stop: ["\n"],
    presence_penalty: 0.5,
    frequency_penalty: 1,
    logit_bias: { "50256": -100 },
    logprobs: true,
    top_logprobs: 2,
    modalities: ["text", "audio"],
    audio: { voice: "alloy", format: "wav" },
    web_search_options: {},
    functions: [{ name: "f" }],
    function_call: "auto",
  });
  assert.equal(error.type, "bad_request");
  assert.deepEqual((error.data.errors ?? []).map((issue) => issue.path), [
    "n",
    "stop",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "modalities",
    "audio",
    "web_search_options",
    "functions",
    "function_call",
  ]);
  assert.match(
    error.message,
    /^Cannot send the request through the Responses API: "n": not supported/,
  );
});
