import assert from "node:assert/strict";
import type { ObserverEvent } from "@vulpes/contract/capabilities";
import { checkHealth, observerClient, PluginProcess } from "@vulpes/contract/host";
import {
  assertConfigRefused,
  assertConformant,
  assertNoPermissions,
  pluginBinary,
  shutsDown,
} from "../../tests/_support.ts";

const BINARY = pluginBinary("observer-stdout");

type LogRecord = Record<string, unknown>;

async function start(
  config: unknown,
  logs: LogRecord[],
  capturePayloads = true,
): Promise<PluginProcess> {
  return await PluginProcess.start({
    command: BINARY,
    instance: "events",
    capabilities: ["observer"],
    config,
    capturePayloads,
    onLog: (record) => logs.push(record),
    restart: false,
  });
}

/** Shut down, then wait (bounded) until the host has read the plugin's last log line. */
async function stop(plugin: PluginProcess, logs: LogRecord[]): Promise<void> {
  await plugin.shutdown();
  const deadline = Date.now() + 5000;
  while (!logs.some((record) => record.msg === "stopped")) {
    if (Date.now() > deadline) throw new Error('no "stopped" log line within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function written(logs: LogRecord[]): LogRecord[] {
  return logs.filter((record) => record.msg === "event").map((record) => record.event as LogRecord);
}

const COMPLETED: ObserverEvent = {
  type: "request.completed",
  time: "2026-01-01T00:00:01.000Z",
  request_id: "req-1",
  tenant: "acme",
  subject: "alice",
  model: "gpt-4o",
  route: { upstream: "openai", model: "gpt-4o", options: { api_key: "sk-route-secret" } },
  status: 200,
  latency_ms: 812,
  ttft_ms: 120,
  usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
  traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
  payload: {
    request: { model: "gpt-4o", messages: [{ role: "user", content: "what is a fox?" }] },
    response: { choices: [{ message: { role: "assistant", content: "a small canid" } }] },
  },
};

const ATTEMPT: ObserverEvent = {
  type: "upstream.attempt",
  time: "2026-01-01T00:00:00.900Z",
  request_id: "req-1",
  model: "gpt-4o",
  route: { upstream: "openai", model: "gpt-4o" },
  status: 200,
  latency_ms: 700,
};

Deno.test("bin/observer-stdout passes the conformance check", async () => {
  await assertConformant(BINARY, { config: {} });
});

Deno.test("bin/observer-stdout has no permissions, as declared and as described", async () => {
  await assertNoPermissions("observer-stdout", ["observer"]);
});

Deno.test("bin/observer-stdout writes each event as one JSON line, parsed back in order, without payloads by default", async () => {
  const logs: LogRecord[] = [];
  await using plugin = shutsDown(await start({}, logs));
  const client = observerClient(plugin);
  client.emit({ events: [ATTEMPT, COMPLETED] });
  client.emit({ events: [{ ...ATTEMPT, request_id: "req-2" }] });
  await stop(plugin, logs);
  const { payload: _, ...withoutPayload } = COMPLETED;
  assert.deepEqual(written(logs), [
    ATTEMPT,
    { ...withoutPayload, route: { ...COMPLETED.route, options: { api_key: "[redacted]" } } },
    { ...ATTEMPT, request_id: "req-2" },
  ]);
  for (const record of logs.filter((r) => r.msg === "event")) {
    assert.deepEqual(Object.keys(record), ["time", "level", "msg", "plugin", "instance", "event"]);
    assert.equal(record.level, "info");
    assert.equal(record.plugin, "observer-stdout");
    assert.equal(record.instance, "events");
  }
  assert.ok(!JSON.stringify(logs).includes("sk-route-secret"));
  assert.ok(!JSON.stringify(logs).includes("what is a fox"));
});

Deno.test("bin/observer-stdout writes payloads only with include_payloads and capture_payloads, and applies allow and deny", async () => {
  const logs: LogRecord[] = [];
  await using plugin = shutsDown(
    await start({
      include_payloads: true,
      fields: {
        allow: ["request_id", "usage", "payload", "route.upstream"],
        deny: ["usage.total_tokens", "payload.response"],
      },
    }, logs),
  );
  observerClient(plugin).emit({ events: [COMPLETED] });
  await stop(plugin, logs);
  assert.deepEqual(written(logs), [{
    type: "request.completed",
    request_id: "req-1",
    usage: { prompt_tokens: 10, completion_tokens: 5 },
    payload: { request: COMPLETED.payload!.request },
    route: { upstream: "openai" },
  }]);

  const uncaptured: LogRecord[] = [];
  await using second = shutsDown(await start({ include_payloads: true }, uncaptured, false));
  observerClient(second).emit({ events: [ATTEMPT] });
  await stop(second, uncaptured);
  assert.deepEqual(written(uncaptured), [ATTEMPT]);
  assert.ok(uncaptured.some((r) => /does not capture payloads/.test(String(r.msg))));
});

Deno.test("bin/observer-stdout keeps each line under the host's 64 KiB cut by truncating payloads", async () => {
  const logs: LogRecord[] = [];
  await using plugin = shutsDown(await start({ include_payloads: true }, logs));
  const big = "fox ".repeat(50_000);
  observerClient(plugin).emit({
    events: [{ ...COMPLETED, payload: { request: { content: big }, response: { content: big } } }],
  });
  await stop(plugin, logs);
  const [record] = logs.filter((r) => r.msg === "event");
  assert.ok(record, "the event was written as a JSON record");
  assert.equal(record.truncated, true);
  assert.deepEqual((record.event as LogRecord).payload, {
    request: "[truncated: 200014 chars]",
    response: "[truncated: 200014 chars]",
  });
  assert.equal((record.event as LogRecord).request_id, "req-1");
});

Deno.test("bin/observer-stdout bounds its queue: an overflow drops the oldest, counts them in health and logs it", async () => {
  const logs: LogRecord[] = [];
  await using plugin = shutsDown(await start({ queue: { capacity: 5, batch_size: 5 } }, logs));
  const burst = Array.from({ length: 50 }, (_, i) => ({ ...ATTEMPT, request_id: `burst-${i}` }));
  observerClient(plugin).emit({ events: burst });
  let health = await checkHealth(plugin);
  const deadline = Date.now() + 5000;
  while ((health.detail as LogRecord | undefined)?.processed !== 5 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    health = await checkHealth(plugin);
  }
  assert.deepEqual(health, {
    status: "degraded",
    detail: { queued: 0, processed: 5, dropped: 45, failed: 0, capacity: 5 },
  });
  await stop(plugin, logs);
  assert.deepEqual(
    written(logs).map((event) => event.request_id),
    ["burst-45", "burst-46", "burst-47", "burst-48", "burst-49"],
  );
  const warning = logs.find((r) => r.msg === "dropped events: the queue is full");
  assert.deepEqual(warning && { level: warning.level, dropped: warning.dropped }, {
    level: "warn",
    dropped: 45,
  });
  const totals = logs.find((r) => r.msg === "event totals");
  assert.equal(totals?.dropped, 45);
});

Deno.test("bin/observer-stdout refuses a bad config naming every field", async () => {
  await assertConfigRefused(
    start({
      include_payloads: "yes",
      fields: { deny: ["a..b"] },
      queue: { capacity: -1 },
      colour: "red",
    }, []),
    ["colour", "fields.deny[0]", "include_payloads", "queue.capacity"],
  );
});
