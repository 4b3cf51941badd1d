import assert from "node:assert/strict";
import * as z from "zod";
import { secretFields } from "./secret_fields.ts";

const mark = { "x-vulpes-secret": true };

Deno.test("secretFields() finds secrets in nested objects, arrays, maps and optional fields", () => {
  const schema = z.toJSONSchema(
    z.strictObject({
      api_key: z.string().meta(mark).optional(),
      keys: z.array(z.strictObject({ id: z.string(), key: z.string().meta(mark).optional() })),
      headers: z.record(z.string(), z.string().meta(mark)).default({}),
      plain: z.string(),
    }),
    { io: "input" },
  );
  const found = secretFields(schema, {
    api_key: "sk-top",
    keys: [{ id: "a" }, { id: "b", key: "sk-b" }],
    headers: { "x-api-key": "h-secret" },
    plain: "not secret",
  });
  assert.deepEqual(found, [
    { path: "api_key", value: "sk-top" },
    { path: "keys[1].key", value: "sk-b" },
    { path: 'headers["x-api-key"]', value: "h-secret" },
  ]);
});

Deno.test("secretFields() follows $ref definitions", () => {
  const schema = {
    $defs: { token: { type: "string", "x-vulpes-secret": true } },
    type: "object",
    properties: { token: { $ref: "#/$defs/token" } },
  };
  assert.deepEqual(secretFields(schema, { token: "t-1" }), [{ path: "token", value: "t-1" }]);
});
