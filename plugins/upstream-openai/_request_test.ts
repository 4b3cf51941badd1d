import assert from "node:assert/strict";
import { chatBody } from "./_request.ts";

Deno.test("chatBody() changes only the model, and asks for usage when streaming", () => {
  const request = {
    model: "public",
    messages: [{ role: "user", content: "hi" }],
    temperature: 0.2,
    stream: true,
    stream_options: { include_usage: false, other: 1 },
  };
  assert.deepEqual(chatBody(request, "upstream-model", true), {
    ...request,
    model: "upstream-model",
    stream: true,
    stream_options: { include_usage: true, other: 1 },
  });
  assert.deepEqual(chatBody(request, "upstream-model", false), {
    model: "upstream-model",
    messages: request.messages,
    temperature: 0.2,
  });
  assert.equal(request.model, "public", "the request itself is not changed");
});
