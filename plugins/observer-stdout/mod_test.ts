import assert from "node:assert/strict";
import type { ObserverEvent } from "@vulpes/contract/capabilities";
import { createTestCall, createTestContext } from "@vulpes/contract/testing";
import { configSchema } from "./config.ts";
import { DEGRADED_AFTER_DROP_MS, plugin } from "./mod.ts";

function events(count: number): ObserverEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    type: "upstream.attempt",
    time: "2026-01-01T00:00:00.000Z",
    request_id: `req-${i}`,
    route: { upstream: "openai", model: "gpt-4o" },
  }));
}

function call(context: ReturnType<typeof createTestContext>) {
  return createTestCall({ logger: context.logger });
}

Deno.test("emit() writes one event record per event, in order, on the plugin's log", async () => {
  const context = createTestContext();
  const instance = await plugin.create(configSchema.parse({}), context);
  await instance.observer!.emit({ events: events(3) }, call(context));
  await instance.flush!();
  const written = context.logs.filter((record) => record.msg === "event");
  assert.deepEqual(written.map((record) => record.level), ["info", "info", "info"]);
  assert.deepEqual(written.map((record) => record.event), events(3));
  assert.deepEqual(await instance.health!(), {
    status: "ok",
    detail: { queued: 0, processed: 3, dropped: 0, failed: 0, capacity: 10_000 },
  });
});

Deno.test("a full queue drops the oldest events, counts them, logs once and degrades health for a minute", async () => {
  let now = 0;
  const context = createTestContext({ now: () => now });
  const config = configSchema.parse({ queue: { capacity: 4, batch_size: 2 } });
  const instance = await plugin.create(config, context);
  await instance.observer!.emit({ events: events(10) }, call(context));
  await instance.observer!.emit({ events: events(10) }, call(context));
  await instance.flush!();
  const health = await instance.health!();
  assert.equal(health.status, "degraded");
  // The first push drops 6 and starts writing a batch of 2; the second finds 2 waiting and
  // drops 8 more. One warning: the queue never stopped overflowing in between.
  assert.deepEqual(health.detail, { queued: 0, processed: 6, dropped: 14, failed: 0, capacity: 4 });
  const warnings = context.logs.filter((record) => record.level === "warn");
  assert.deepEqual(warnings, [{
    ...warnings[0],
    msg: "dropped events: the queue is full",
    dropped: 6,
    capacity: 4,
  }]);
  const written = context.logs.filter((record) => record.msg === "event");
  assert.equal(written.length, 6);
  assert.deepEqual(written.at(-1)!.event, events(10).at(-1), "the newest event is kept");
  now = DEGRADED_AFTER_DROP_MS;
  assert.equal((await instance.health!()).status, "ok");
});

Deno.test("a config that asks for payloads the core does not capture says so", async () => {
  const context = createTestContext({ capturePayloads: false });
  await plugin.create(configSchema.parse({ include_payloads: true }), context);
  assert.ok(context.logs.some((record) => /does not capture payloads/.test(String(record.msg))));
});

Deno.test("configSchema refuses bad field paths and unknown keys, listing each", () => {
  const result = configSchema.safeParse({
    fields: { allow: ["ok", "bad path"], deny: [".x"] },
    queue: { capacity: 0 },
    colour: "red",
  });
  assert.equal(result.success, false);
  const paths = result.error!.issues.map((issue) => issue.path.join(".")).sort();
  assert.deepEqual(paths, ["", "fields.allow.1", "fields.deny.0", "queue.capacity"]);
});
