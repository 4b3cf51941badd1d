import assert from "node:assert/strict";
import { type Issue, mapMessages } from "./_messages.ts";

function map(messages: unknown) {
  const issues: Issue[] = [];
  const result = mapMessages(messages, issues);
  return { ...result, issues };
}

Deno.test("mapMessages() sends no instructions without a leading system message", () => {
  const result = map([{ role: "user", content: "hi" }]);
  assert.deepEqual(result, { input: [{ role: "user", content: "hi" }], issues: [] });
});

Deno.test("mapMessages() treats a system message after an assistant message as a developer item", () => {
  const result = map([
    { role: "assistant", content: "Hello" },
    { role: "system", content: "x" },
  ]);
  assert.equal(result.instructions, undefined);
  assert.deepEqual(result.input, [
    { role: "assistant", content: "Hello" },
    { role: "developer", content: "x" },
  ]);
});

Deno.test("mapMessages() accepts an image_url given as a plain string", () => {
  const result = map([{ role: "user", content: [{ type: "image_url", image_url: "https://i" }] }]);
  assert.deepEqual(result.input, [{
    role: "user",
    content: [{ type: "input_image", image_url: "https://i", detail: "auto" }],
  }]);
});

Deno.test("mapMessages() refuses a file part with neither file_data nor file_id", () => {
  const result = map([{ role: "user", content: [{ type: "file", file: { filename: "a" } }] }]);
  assert.deepEqual(result.issues, [{
    path: "messages[0].content[0]",
    message: 'expected a text, image_url or file part, received "file"',
  }]);
});

Deno.test("mapMessages() refuses a message that is not an object", () => {
  assert.deepEqual(map(["hi"]).issues, [{
    path: "messages[0]",
    message: "expected a message object",
  }]);
});

Deno.test("mapMessages() refuses user content that is neither text nor parts", () => {
  assert.deepEqual(map([{ role: "user", content: 5 }]).issues.map((i) => i.path), [
    "messages[0].content",
  ]);
});

Deno.test("mapMessages() refuses a system message with a non-text part", () => {
  const result = map([{ role: "system", content: [{ type: "image_url", image_url: "x" }] }]);
  assert.deepEqual(result.issues.map((i) => i.path), ["messages[0].content[0]"]);
});

Deno.test("mapMessages() refuses malformed tool calls and legacy function_call", () => {
  const result = map([
    { role: "user", content: "hi" },
    { role: "assistant", content: null, tool_calls: [{ type: "function" }] },
    { role: "assistant", content: null, tool_calls: "x" },
    { role: "assistant", content: null, function_call: { name: "f", arguments: "{}" } },
  ]);
  assert.deepEqual(result.issues.map((i) => i.path), [
    "messages[1].tool_calls[0]",
    "messages[2].tool_calls",
    "messages[3].function_call",
  ]);
});

Deno.test("mapMessages() turns object arguments of a tool call into JSON text", () => {
  const result = map([{
    role: "assistant",
    content: "",
    tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: { a: 1 } } }],
  }]);
  assert.deepEqual(result.input, [{
    type: "function_call",
    call_id: "c",
    name: "f",
    arguments: '{"a":1}',
  }]);
});

Deno.test("mapMessages() sends an empty output for a tool message without content", () => {
  const result = map([{ role: "tool", tool_call_id: "c", content: null }]);
  assert.deepEqual(result.input, [{ type: "function_call_output", call_id: "c", output: "" }]);
});
