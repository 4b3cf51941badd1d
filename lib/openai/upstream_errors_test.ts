import assert from "node:assert/strict";
import { upstreamError } from "./upstream_errors.ts";

Deno.test("upstreamError() marks a content-policy refusal with code content_policy", () => {
  for (
    const error of [{ code: "content_policy_violation" }, { code: "content_filter" }, {
      type: "content_filter",
    }]
  ) {
    const mapped = upstreamError(
      400,
      new Headers(),
      JSON.stringify({ error: { message: "No", ...error } }),
      0,
    );
    assert.equal(mapped.type, "bad_request");
    assert.equal(mapped.data.code, "content_policy", JSON.stringify(error));
    assert.equal(mapped.data.status, 400);
  }
  const plain = upstreamError(
    400,
    new Headers(),
    JSON.stringify({ error: { message: "bad", param: "x" } }),
    0,
  );
  assert.equal(plain.data.code, undefined);
  assert.equal(plain.data.param, "x");
});
