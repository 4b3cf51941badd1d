import assert from "node:assert/strict";
import { classifyMessage } from "./messages.ts";

Deno.test("classifyMessage() recognizes a request with a numeric or string id", () => {
  const requests = [
    { jsonrpc: "2.0", id: 1, method: "health" },
    { jsonrpc: "2.0", id: 0, method: "health" },
    { jsonrpc: "2.0", id: -7, method: "authn.authenticate", params: { key: "x" } },
    { jsonrpc: "2.0", id: "abc-1", method: "router.route", params: [1, 2] },
    { jsonrpc: "2.0", id: "", method: "health" },
    { jsonrpc: "2.0", id: Number.MAX_SAFE_INTEGER, method: "health", params: null },
  ];
  for (const request of requests) {
    assert.deepEqual(classifyMessage(request), { kind: "request", message: request });
  }
});

Deno.test("classifyMessage() recognizes a notification by its missing id", () => {
  const notifications = [
    { jsonrpc: "2.0", method: "observer.emit", params: { event: "x" } },
    { jsonrpc: "2.0", method: "$/cancel", params: { id: 3 } },
    { jsonrpc: "2.0", method: "ping" },
  ];
  for (const notification of notifications) {
    assert.deepEqual(classifyMessage(notification), {
      kind: "notification",
      message: notification,
    });
  }
});

Deno.test("classifyMessage() recognizes a success response, null and false results included", () => {
  const responses = [
    { jsonrpc: "2.0", id: 1, result: { status: "ok" } },
    { jsonrpc: "2.0", id: "a", result: null },
    { jsonrpc: "2.0", id: 2, result: false },
    { jsonrpc: "2.0", id: 3, result: [] },
  ];
  for (const response of responses) {
    assert.deepEqual(classifyMessage(response), { kind: "success", message: response });
  }
});

Deno.test("classifyMessage() recognizes a failure response", () => {
  const failure = {
    jsonrpc: "2.0",
    id: 4,
    error: { code: -32000, message: "No", data: { type: "forbidden" } },
  };
  assert.deepEqual(classifyMessage(failure), { kind: "failure", message: failure });
  const withoutData = { jsonrpc: "2.0", id: "x", error: { code: -32601, message: "Not found" } };
  assert.deepEqual(classifyMessage(withoutData), { kind: "failure", message: withoutData });
});

Deno.test("classifyMessage() recognizes a failure whose id is null", () => {
  const failure = { jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } };
  assert.deepEqual(classifyMessage(failure), { kind: "failure", message: failure });
});

Deno.test("classifyMessage() refuses arrays as unsupported batches", () => {
  for (const batch of [[], [{ jsonrpc: "2.0", id: 1, method: "health" }]]) {
    const classified = classifyMessage(batch);
    assert.equal(classified.kind, "invalid");
    assert.equal((classified as { id: unknown }).id, null);
    assert.match((classified as { reason: string }).reason, /batches are not supported/);
  }
});

Deno.test("classifyMessage() refuses values that are not objects", () => {
  for (const value of [null, 1, "request", true, undefined]) {
    assert.deepEqual(classifyMessage(value), {
      kind: "invalid",
      id: null,
      reason: "expected a JSON object",
    });
  }
});

Deno.test("classifyMessage() refuses a wrong or missing jsonrpc version and keeps the id", () => {
  const cases: [unknown, unknown][] = [
    [{ jsonrpc: "1.0", id: 5, method: "health" }, 5],
    [{ jsonrpc: 2.0, id: "s", method: "health" }, "s"],
    [{ id: 6, method: "health" }, 6],
    [{ jsonrpc: "2.0 ", id: 7, result: 1 }, 7],
  ];
  for (const [value, id] of cases) {
    assert.deepEqual(classifyMessage(value), {
      kind: "invalid",
      id,
      reason: 'expected "jsonrpc": "2.0"',
    });
  }
});

Deno.test("classifyMessage() refuses a method that is not a non-empty string", () => {
  for (const method of [1, null, "", ["health"], { name: "health" }, true]) {
    const classified = classifyMessage({ jsonrpc: "2.0", id: 9, method });
    assert.deepEqual(classified, {
      kind: "invalid",
      id: 9,
      reason: 'expected "method" to be a non-empty string',
    });
  }
  const notification = classifyMessage({ jsonrpc: "2.0", method: 42 });
  assert.equal(notification.kind, "invalid");
});

Deno.test("classifyMessage() refuses a request whose id is not a string or an integer", () => {
  const ids = [1.5, { n: 1 }, [1], null, true, 2 ** 53, -(2 ** 53)];
  for (const id of ids) {
    assert.deepEqual(classifyMessage({ jsonrpc: "2.0", id, method: "health" }), {
      kind: "invalid",
      id: null,
      reason: 'expected "id" to be a string or an integer',
    }, JSON.stringify(id));
  }
});

Deno.test("classifyMessage() refuses a response whose id is not a string or an integer", () => {
  for (const id of [1.5, { n: 1 }, [2], true]) {
    assert.equal(classifyMessage({ jsonrpc: "2.0", id, result: 1 }).kind, "invalid");
    assert.equal(
      classifyMessage({ jsonrpc: "2.0", id, error: { code: 1, message: "x" } }).kind,
      "invalid",
    );
  }
  assert.equal(classifyMessage({ jsonrpc: "2.0", id: null, result: 1 }).kind, "invalid");
  assert.equal(classifyMessage({ jsonrpc: "2.0", result: 1 }).kind, "invalid");
});

Deno.test("classifyMessage() refuses a failure whose error is malformed", () => {
  const errors = [
    null,
    "boom",
    { code: "-32000", message: "x" },
    { code: -32000 },
    { message: "x" },
    { code: -32000, message: 5 },
  ];
  for (const error of errors) {
    assert.deepEqual(classifyMessage({ jsonrpc: "2.0", id: 3, error }), {
      kind: "invalid",
      id: 3,
      reason: 'expected "method", "result" or "error"',
    }, JSON.stringify(error));
  }
  assert.equal(
    classifyMessage({ jsonrpc: "2.0", error: { code: 1, message: "x" } }).kind,
    "invalid",
  );
});

Deno.test("classifyMessage() refuses an object with neither method, result nor error", () => {
  assert.deepEqual(classifyMessage({ jsonrpc: "2.0", id: 11 }), {
    kind: "invalid",
    id: 11,
    reason: 'expected "method", "result" or "error"',
  });
  assert.deepEqual(classifyMessage({}), {
    kind: "invalid",
    id: null,
    reason: 'expected "jsonrpc": "2.0"',
  });
});

Deno.test("classifyMessage() does not treat inherited properties as members", () => {
  const parsed: unknown = JSON.parse('{"jsonrpc":"2.0","id":1,"__proto__":{"method":"x"}}');
  assert.equal(classifyMessage(parsed).kind, "invalid");
});
