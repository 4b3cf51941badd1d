import assert from "node:assert/strict";
import * as z from "zod";
import { definePlugin } from "./definition.ts";

const base = {
  version: "1.0.0",
  description: "d",
  config: z.strictObject({}),
  create: () => ({}),
};

Deno.test("definePlugin() refuses a name that is not kebab-case", () => {
  assert.throws(
    () => definePlugin({ ...base, name: "My_Plugin", capabilities: ["observer"] }),
    /name must be kebab-case/,
  );
});

Deno.test("definePlugin() refuses no capability and an unknown one", () => {
  assert.throws(
    () => definePlugin({ ...base, name: "a", capabilities: [] }),
    /declares no capability/,
  );
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => definePlugin({ ...base, name: "a", capabilities: ["teleporter" as any] }),
    /unknown capability "teleporter"/,
  );
});
