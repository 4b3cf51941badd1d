import assert from "node:assert/strict";
import { PluginError } from "@vulpes/contract/plugin";
import { chatCompletion, finishReasonOf, usageOf } from "./_response.ts";

function message(...content: Record<string, unknown>[]) {
  return { type: "message", id: "msg_1", role: "assistant", status: "completed", content };
}

function outputText(text: string) {
  return { type: "output_text", text, annotations: [] };
}

function functionCall(callId: string, name: string, args: string) {
  return { type: "function_call", id: `fc_${callId}`, call_id: callId, name, arguments: args };
}

function response(output: unknown[], extra: Record<string, unknown> = {}) {
  return {
    id: "resp_1",
    object: "response",
    created_at: 1_760_000_000,
    model: "codex-mini",
    status: "completed",
    error: null,
    incomplete_details: null,
    output,
    ...extra,
  };
}

Deno.test("chatCompletion() maps output text to a chat completion", () => {
  assert.deepEqual(chatCompletion(response([message(outputText("Hello"))])), {
    id: "resp_1",
    object: "chat.completion",
    created: 1_760_000_000,
    model: "codex-mini",
    choices: [{
      index: 0,
      message: { role: "assistant", content: "Hello", refusal: null },
      logprobs: null,
      finish_reason: "stop",
    }],
  });
});

Deno.test("chatCompletion() joins the text of several parts and messages", () => {
  const completion = chatCompletion(response([
    message(outputText("a"), outputText("b")),
    message(outputText("c")),
  ]));
  assert.equal(
    (completion.choices as { message: { content: string } }[])[0]!.message.content,
    "abc",
  );
});

Deno.test("chatCompletion() leaves reasoning items out", () => {
  const completion = chatCompletion(response([
    { type: "reasoning", id: "rs_1", summary: [{ type: "summary_text", text: "thinking" }] },
    message(outputText("done")),
  ]));
  const choice = (completion.choices as { message: Record<string, unknown> }[])[0]!;
  assert.deepEqual(choice.message, { role: "assistant", content: "done", refusal: null });
});

Deno.test("chatCompletion() maps function_call items to tool_calls with finish_reason tool_calls", () => {
  const completion = chatCompletion(response([
    functionCall("call_1", "get_weather", '{"city":"Paris"}'),
    functionCall("call_2", "get_time", "{}"),
  ]));
  assert.deepEqual(completion.choices, [{
    index: 0,
    message: {
      role: "assistant",
      content: null,
      refusal: null,
      tool_calls: [
        {
          id: "call_1",
          type: "function",
          function: { name: "get_weather", arguments: '{"city":"Paris"}' },
        },
        { id: "call_2", type: "function", function: { name: "get_time", arguments: "{}" } },
      ],
    },
    logprobs: null,
    finish_reason: "tool_calls",
  }]);
});

Deno.test("chatCompletion() keeps text that comes with a tool call", () => {
  const completion = chatCompletion(response([
    message(outputText("Checking.")),
    functionCall("c", "f", "{}"),
  ]));
  const choice = (completion.choices as { message: Record<string, unknown> }[])[0]!;
  assert.equal(choice.message.content, "Checking.");
  assert.equal((choice.message.tool_calls as unknown[]).length, 1);
});

Deno.test("chatCompletion() maps a refusal part to message.refusal", () => {
  const completion = chatCompletion(
    response([message({ type: "refusal", refusal: "I cannot help" })]),
  );
  const choice = (completion.choices as { message: Record<string, unknown> }[])[0]!;
  assert.deepEqual(choice.message, { role: "assistant", content: null, refusal: "I cannot help" });
});

Deno.test("chatCompletion() maps usage with cached and reasoning tokens", () => {
  const completion = chatCompletion(response([message(outputText("x"))], {
    usage: {
      input_tokens: 120,
      input_tokens_details: { cached_tokens: 100 },
      output_tokens: 30,
      output_tokens_details: { reasoning_tokens: 20 },
      total_tokens: 150,
    },
    service_tier: "default",
  }));
  assert.deepEqual(completion.usage, {
    prompt_tokens: 120,
    completion_tokens: 30,
    total_tokens: 150,
    prompt_tokens_details: { cached_tokens: 100 },
    completion_tokens_details: { reasoning_tokens: 20 },
  });
  assert.equal(completion.service_tier, "default");
});

Deno.test("usageOf() fills missing details with zero and computes a missing total", () => {
  assert.deepEqual(usageOf({ input_tokens: 3, output_tokens: 4 }), {
    prompt_tokens: 3,
    completion_tokens: 4,
    total_tokens: 7,
    prompt_tokens_details: { cached_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0 },
  });
  assert.equal(usageOf(null), undefined);
  assert.equal(usageOf(undefined), undefined);
});

Deno.test("finishReasonOf() maps status and incomplete_details", () => {
  assert.equal(finishReasonOf({ status: "completed" }, false), "stop");
  assert.equal(finishReasonOf({ status: "completed" }, true), "tool_calls");
  assert.equal(
    finishReasonOf(
      { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } },
      true,
    ),
    "length",
  );
  assert.equal(
    finishReasonOf(
      { status: "incomplete", incomplete_details: { reason: "content_filter" } },
      false,
    ),
    "content_filter",
  );
  assert.equal(finishReasonOf({ status: "incomplete", incomplete_details: null }, false), "length");
  assert.equal(finishReasonOf({}, false), "stop");
});

Deno.test("chatCompletion() maps an incomplete response to finish_reason length", () => {
  const completion = chatCompletion(response([message(outputText("Partial"))], {
    status: "incomplete",
    incomplete_details: { reason: "max_output_tokens" },
  }));
  const choice = (completion.choices as { finish_reason: string }[])[0]!;
  assert.equal(choice.finish_reason, "length");
});

Deno.test("chatCompletion() turns a failed response into upstream_error with its message", () => {
  assert.throws(
    () =>
      chatCompletion(response([], {
        status: "failed",
        error: { code: "server_error", message: "The model crashed" },
      })),
    (error) => {
      assert.ok(error instanceof PluginError);
      assert.equal(error.type, "upstream_error");
      assert.equal(error.message, "The upstream failed: The model crashed");
      assert.equal(error.data.upstream_code, "server_error");
      assert.equal(error.data.status, 502);
      return true;
    },
  );
});

Deno.test("chatCompletion() refuses a response that is still in progress", () => {
  assert.throws(
    () => chatCompletion(response([], { status: "in_progress" })),
    /The upstream failed: the response ended with status "in_progress"/,
  );
});

Deno.test("chatCompletion() refuses a body that is not a response", () => {
  for (const body of [null, [], { error: "x" }, "text"]) {
    assert.throws(() => chatCompletion(body), (error) => {
      assert.ok(error instanceof PluginError);
      assert.equal(error.type, "upstream_error");
      assert.equal(error.message, "The upstream's answer is not a response object");
      return true;
    });
  }
});
