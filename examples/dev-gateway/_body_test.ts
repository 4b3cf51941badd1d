import assert from "node:assert/strict";
import { readBody, type ReadBodyOptions } from "./_body.ts";
import { HttpError, toHttpError } from "./_errors.ts";

/** A request whose body sends `first` and then nothing, until cancelled. */
function stalledRequest(first: string, headers: Record<string, string> = {}) {
  let cancelled: unknown = "not cancelled";
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(first));
    },
    cancel(reason) {
      cancelled = reason;
    },
  });
  const request = new Request("http://gateway/v1/chat/completions", {
    method: "POST",
    headers,
    body,
  });
  return { request, cancelled: () => cancelled };
}

function options(overrides: Partial<ReadBodyOptions> = {}): ReadBodyOptions {
  return {
    maxBytes: 1024,
    timeoutMs: 50,
    signal: new AbortController().signal,
    closing: new AbortController().signal,
    ...overrides,
  };
}

async function rejection(promise: Promise<unknown>): Promise<HttpError> {
  const error = await promise.then(() => undefined, (error) => error);
  assert.ok(error instanceof HttpError, `expected an HttpError, received ${error}`);
  return error;
}

Deno.test("readBody() parses a complete body", async () => {
  const request = new Request("http://gateway/v1/embeddings", {
    method: "POST",
    body: JSON.stringify({ model: "m", input: "hello" }),
  });
  assert.deepEqual(await readBody(request, "embeddings", options()), {
    model: "m",
    input: "hello",
  });
});

Deno.test("readBody() answers 408 and cancels the body when request_timeout_ms passes mid-body", async () => {
  const { request, cancelled } = stalledRequest('{"model":');
  const timeout = new AbortController();
  const reading = readBody(request, "chat", options({ signal: timeout.signal }));
  await new Promise((resolve) => setTimeout(resolve, 20));
  const reason = new DOMException("request_timeout_ms passed", "TimeoutError");
  timeout.abort(reason);
  const error = await rejection(reading);
  assert.equal(error.status, 408);
  assert.equal(error.body.error.code, "body_timeout");
  assert.match(error.body.error.message, /within request_timeout_ms \(50 ms\)/);
  assert.equal(error.headers.connection, "close");
  assert.equal(cancelled(), reason, "the body stream was cancelled");
});

Deno.test("readBody() answers 503 and cancels the body when the gateway stops mid-body", async () => {
  const { request, cancelled } = stalledRequest("", { "transfer-encoding": "chunked" });
  const stopping = new AbortController();
  const reading = readBody(request, "chat", options({ signal: stopping.signal }));
  stopping.abort(new DOMException("The gateway is stopping", "AbortError"));
  const error = await rejection(reading);
  assert.equal(error.status, 503);
  assert.equal(error.body.error.code, "gateway_stopping");
  assert.notEqual(cancelled(), "not cancelled");
});

Deno.test("readBody() reads nothing for a request whose lifetime already ended", async () => {
  const { request, cancelled } = stalledRequest('{"model":');
  const error = await rejection(
    readBody(request, "chat", options({ signal: AbortSignal.abort() })),
  );
  assert.equal(error.status, 503);
  assert.equal(cancelled(), "not cancelled");
});

Deno.test("readBody() answers 413 and cancels a streamed body once it passes max_body_bytes", async () => {
  const { request, cancelled } = stalledRequest("x".repeat(2048));
  const error = await rejection(readBody(request, "chat", options()));
  assert.equal(error.status, 413);
  assert.equal(error.body.error.code, "request_too_large");
  assert.notEqual(cancelled(), "not cancelled");
});

/** A request whose body fails as Deno.serve's does when its connection is closed. */
function cutRequest(): Request {
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.error(
        new Deno.errors.BadResource("Cannot read request body as underlying resource unavailable"),
      );
    },
  });
  return new Request("http://gateway/v1/chat/completions", { method: "POST", body });
}

Deno.test("readBody() records a body cut by the client closing its connection as the client leaving", async () => {
  const error = await readBody(cutRequest(), "chat", options()).catch((error) => error);
  assert.equal(toHttpError(error).status, 499);
});

Deno.test("readBody() answers 503 for a body cut because the gateway started to stop", async () => {
  const closing = AbortSignal.abort(new DOMException("The gateway is stopping", "AbortError"));
  const error = await rejection(readBody(cutRequest(), "chat", options({ closing })));
  assert.equal(error.status, 503);
  assert.equal(error.headers.connection, "close");
});
