import assert from "node:assert/strict";
import { PluginError } from "@vulpes/contract/protocol";
import { baseUrlFor, chatBody, headersFor } from "./_request.ts";
import { configSchema } from "./config.ts";

const config = configSchema.parse({
  base_url: "http://127.0.0.1:9/v1/",
  api_key: "sk-upstream-secret",
  organization: "org-1",
  project: "proj-1",
  headers: { "x-extra": "yes" },
  allowed_base_urls: ["http://10.0.0.", "http://127.0.0.1:7000/"],
});

Deno.test("baseUrlFor() uses the config's base URL without a trailing slash", () => {
  assert.equal(baseUrlFor(config, { upstream: "u", model: "m" }), "http://127.0.0.1:9/v1");
});

Deno.test("baseUrlFor() takes a route's base_url only under an allowed prefix", () => {
  const route = (base_url: unknown) => ({ upstream: "u", model: "m", options: { base_url } });
  assert.equal(baseUrlFor(config, route("http://10.0.0.7:8000/v1")), "http://10.0.0.7:8000/v1");
  assert.throws(
    () => baseUrlFor(config, route("http://evil.example/v1")),
    (error) =>
      error instanceof PluginError && error.type === "bad_request" &&
      /"base_url" "http:\/\/evil.example\/v1" is not allowed/.test(error.message),
  );
  assert.throws(() => baseUrlFor(config, route(5)), /must be a string/);
});

Deno.test("headersFor() sends the key, organization, project and extra headers", () => {
  assert.deepEqual(headersFor(config, true), {
    "content-type": "application/json",
    accept: "text/event-stream",
    "x-extra": "yes",
    authorization: "Bearer sk-upstream-secret",
    "openai-organization": "org-1",
    "openai-project": "proj-1",
  });
  const keyless = configSchema.parse({});
  assert.equal(headersFor(keyless, false).authorization, undefined);
});

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
