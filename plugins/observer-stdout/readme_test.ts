import assert from "node:assert/strict";
import type * as z from "zod";
import { observerEventSchema } from "@vulpes/contract/capabilities";
import { createTestCall, createTestContext } from "@vulpes/contract/testing";
import {
  assertConfigTable,
  assertExampleConfigValid,
  readmeOf,
} from "../../scripts/_readme_checks.ts";
import { configSchema } from "./config.ts";
import { plugin } from "./mod.ts";

Deno.test("README config table matches config.ts (regenerate with deno task docs)", async () => {
  assertConfigTable(await readmeOf(import.meta.url), configSchema);
});

Deno.test("README attribute table names every field of the contract's observer event", async () => {
  const { text } = await readmeOf(import.meta.url);
  const fields = Object.keys((observerEventSchema as unknown as z.ZodObject).shape);
  assert.ok(fields.length >= 14);
  for (const field of fields) assert.match(text, new RegExp(`\`event\\.${field}\``), field);
});

Deno.test("README's example line is what the plugin writes for its event", async () => {
  const { text } = await readmeOf(import.meta.url);
  const line = /```jsonl\n(.*)\n```/.exec(text);
  assert.ok(line, "the README shows a line");
  const shown = JSON.parse(line[1]!);
  const context = createTestContext({ instance: "events" });
  const instance = await plugin.create(configSchema.parse({}), context);
  await instance.observer!.emit(
    { events: [shown.event] },
    createTestCall({ logger: context.logger }),
  );
  await instance.flush!();
  const record = context.logs.find((r) => r.msg === "event");
  assert.deepEqual(
    { ...record, time: shown.time, plugin: "observer-stdout", instance: "events" },
    shown,
  );
});

Deno.test("README's gateway.yaml config is valid", async () => {
  assertExampleConfigValid(await readmeOf(import.meta.url), configSchema);
});
