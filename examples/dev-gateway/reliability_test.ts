/**
 * Faults, end to end: a plugin killed with SIGKILL while a request waits on it, a plugin that
 * stops answering, an upstream that drops a stream midway, and SIGTERM while requests are in
 * flight. The gateway runs as a process with real binaries and a fault fixture plugin.
 *
 * @module
 */

import assert from "node:assert/strict";
import { chatChunkEvents, chatCompletion, startFakeOpenAI } from "@vulpes/contract/testing";
import {
  bin,
  faultyLauncher,
  faultyLimiter,
  type GatewayProcess,
  mockUpstream,
  startGatewayProcess,
  tempDir,
  waitFor,
  writeConfig,
} from "./testdata/harness.ts";

function chat(gateway: GatewayProcess, model: string, extra: Record<string, unknown> = {}) {
  return fetch(`${gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "Hi" }], ...extra }),
  });
}

async function health(gateway: GatewayProcess) {
  return await (await fetch(`${gateway.url}/healthz`)).json();
}

/** Wait for the `stalled` log line of a limiter, i.e. the request is in flight on it. */
async function stalled(gateway: GatewayProcess, name: string, before: number): Promise<void> {
  await waitFor(`${name} to stall`, () => {
    const lines = gateway.stderr().split("\n").slice(before);
    return lines.some((line) => line.includes('"stalled"') && line.includes(`"${name}"`));
  });
}

function lineCount(gateway: GatewayProcess): number {
  return gateway.stderr().split("\n").length - 1;
}

Deno.test("plugin faults: SIGKILL mid-request and stalls answer per fail_mode, stream drops end with an error event", async (t) => {
  await using fake = await startFakeOpenAI();
  await using dir = await tempDir();
  const faulty = faultyLauncher(dir.path);
  const file = writeConfig(dir.path, {
    plugins: [
      faultyLimiter(faulty, "kill-closed", "closed", 30_000),
      faultyLimiter(faulty, "kill-open", "open", 30_000),
      faultyLimiter(faulty, "hang-closed", "closed", 500),
      faultyLimiter(faulty, "hang-open", "open", 500),
      {
        name: "router",
        source: { type: "filesystem", path: faulty },
        capabilities: ["router"],
        timeout_ms: 5000,
      },
      mockUpstream(fake.url, { timeout_ms: 30_000 }),
    ],
  });
  const gateway = await startGatewayProcess(file);
  try {
    await t.step(
      "fail_mode closed: a plugin killed mid-request is a clear 503, then restarts",
      async () => {
        const pid = (await health(gateway)).plugins["kill-closed"].pid as number;
        const before = lineCount(gateway);
        const pending = chat(gateway, "stall-kill-closed");
        await stalled(gateway, "kill-closed", before);
        const started = performance.now();
        Deno.kill(pid, "SIGKILL");
        const response = await pending;
        assert.ok(performance.now() - started < 5000, "answered at once, not at the timeout");
        assert.equal(response.status, 503);
        const body = await response.json();
        assert.equal(body.error.code, "plugin_unavailable");
        assert.match(body.error.message, /plugin "kill-closed" failed \(fail_mode closed\)/);
        await waitFor("the restart", async () => {
          const entry = (await health(gateway)).plugins["kill-closed"];
          return entry.restarts >= 1 && entry.state === "ready" && entry.pid !== pid;
        });
        const again = await chat(gateway, "gpt-4o-mini");
        assert.equal(again.status, 200);
        assert.equal((await again.json()).choices[0].message.content, "Echo: Hi");
      },
    );

    await t.step(
      "fail_mode open: a plugin killed mid-request is skipped and the request proceeds",
      async () => {
        const pid = (await health(gateway)).plugins["kill-open"].pid as number;
        const before = lineCount(gateway);
        const pending = chat(gateway, "stall-kill-open");
        await stalled(gateway, "kill-open", before);
        Deno.kill(pid, "SIGKILL");
        const response = await pending;
        assert.equal(response.status, 200);
        assert.equal((await response.json()).choices[0].message.content, "Echo: Hi");
        assert.match(gateway.stderr(), /skipped a failed plugin \(fail_mode open\).*kill-open/);
        await waitFor("the restart", async () => {
          const entry = (await health(gateway)).plugins["kill-open"];
          return entry.restarts >= 1 && entry.state === "ready";
        });
      },
    );

    await t.step(
      "a plugin that stops answering: its timeout_ms makes closed a 503, open a skip",
      async () => {
        let started = performance.now();
        const closed = await chat(gateway, "stall-hang-closed");
        const closedMs = performance.now() - started;
        assert.equal(closed.status, 503);
        const body = await closed.json();
        assert.equal(body.error.code, "plugin_unavailable");
        assert.match(body.error.message, /plugin "hang-closed" failed/);
        assert.ok(closedMs >= 450 && closedMs < 5000, `answered after ${closedMs} ms`);
        started = performance.now();
        const open = await chat(gateway, "stall-hang-open");
        const openMs = performance.now() - started;
        assert.equal(open.status, 200);
        await open.body?.cancel();
        assert.ok(openMs >= 450 && openMs < 5000, `answered after ${openMs} ms`);
        // Neither was killed for it: a slow answer is not a crash.
        const plugins = (await health(gateway)).plugins;
        assert.equal(plugins["hang-closed"].restarts, 0);
        assert.equal(plugins["hang-open"].status, "ok");
      },
    );

    await t.step(
      "an upstream that drops a stream midway: the client gets an error event, the router an error outcome",
      async () => {
        fake.enqueue("/v1/chat/completions", {
          events: chatChunkEvents(["one ", "two ", "three ", "four"]),
          dropAfterEvents: 2,
        });
        const before = lineCount(gateway);
        const response = await chat(gateway, "gpt-4o-mini", { stream: true });
        assert.equal(response.status, 200);
        const text = await response.text();
        const data = text.split("\n").filter((line) => line.startsWith("data: ")).map((line) =>
          line.slice(6)
        );
        assert.ok(data.length >= 2, text);
        assert.ok(!data.includes("[DONE]"), "a broken stream does not claim to be done");
        const last = JSON.parse(data.at(-1)!);
        assert.ok(last.error, `the last event is an error: ${data.at(-1)}`);
        assert.ok(last.error.message.length > 0);
        assert.equal(typeof last.error.type, "string");
        await waitFor(
          "router feedback with an error outcome",
          () =>
            gateway.stderr().split("\n").slice(before).some((line) =>
              line.includes('"feedback"') && line.includes('"outcome":"error"')
            ),
        );
      },
    );
  } finally {
    const status = await gateway.stop();
    assert.equal(status.code, 0, gateway.stderr().slice(-2000));
  }
});

Deno.test("a prompt lookup that fails while the rate limit still decides: the client gets its error, the gateway stays up", async () => {
  // The rate limit and the prompt + cache lookup go out together. Here the lookup fails first
  // (an unknown prompt) while the limiter stalls until its timeout_ms lets the request through.
  await using fake = await startFakeOpenAI();
  await using dir = await tempDir();
  const faulty = faultyLauncher(dir.path);
  const file = writeConfig(dir.path, {
    plugins: [
      faultyLimiter(faulty, "hang-open", "open", 500),
      {
        name: "router",
        source: { type: "filesystem", path: faulty },
        capabilities: ["router"],
      },
      {
        name: "prompts",
        source: { type: "filesystem", path: bin("prompt-template-registry") },
        capabilities: ["prompt_provider"],
        config: {
          prompts: {
            greeter: { versions: { "1": { messages: [{ role: "system", content: "Greet." }] } } },
          },
        },
      },
      mockUpstream(fake.url),
    ],
  });
  const gateway = await startGatewayProcess(file);
  try {
    const before = lineCount(gateway);
    const pending = chat(gateway, "stall-hang-open", { prompt: { id: "no-such-prompt" } });
    pending.catch(() => {}); // awaited below, after the stall
    await stalled(gateway, "hang-open", before);
    const answer = await pending;
    assert.equal(answer.status, 404);
    assert.match((await answer.json()).error.message, /no-such-prompt/);
    assert.equal(fake.requests.length, 0, "a request whose prompt failed never goes upstream");
    const next = await chat(gateway, "gpt-4o-mini", { prompt: { id: "greeter" } });
    assert.equal(next.status, 200);
    await next.body?.cancel();
  } finally {
    const status = await gateway.stop();
    assert.equal(status.code, 0, gateway.stderr().slice(-2000));
  }
});

Deno.test("request_timeout_ms: a slow answer is a 504, and a stream still running at the timeout ends with an error event", async () => {
  await using fake = await startFakeOpenAI();
  await using dir = await tempDir();
  const file = writeConfig(dir.path, {
    server: { request_timeout_ms: 1000 },
    plugins: [
      {
        name: "router",
        source: { type: "filesystem", path: faultyLauncher(dir.path) },
        capabilities: ["router"],
      },
      mockUpstream(fake.url, { timeout_ms: 30_000 }),
    ],
  });
  const gateway = await startGatewayProcess(file);
  try {
    fake.enqueue("/v1/chat/completions", { delayMs: 3000, body: chatCompletion("late") });
    const slow = await chat(gateway, "gpt-4o-mini");
    assert.equal(slow.status, 504);
    const body = await slow.json();
    assert.equal(body.error.type, "timeout_error");
    assert.equal(body.error.code, "request_timeout");

    // The handler has returned once the stream started: the timeout still covers the stream.
    fake.enqueue("/v1/chat/completions", {
      events: chatChunkEvents(Array.from({ length: 20 }, (_, i) => `w${i} `)),
      eventDelayMs: 200,
    });
    const stream = await chat(gateway, "gpt-4o-mini", { stream: true });
    assert.equal(stream.status, 200);
    const data = (await stream.text()).split("\n").filter((line) => line.startsWith("data: "))
      .map((line) => line.slice(6));
    assert.ok(!data.includes("[DONE]"), "a stream cut by the timeout does not claim to be done");
    const last = JSON.parse(data.at(-1)!);
    assert.equal(last.error?.type, "timeout_error", data.join("\n"));
    assert.ok(data.length < 15, `cut near 1 s, not after all 20 chunks (${data.length} events)`);

    const next = await chat(gateway, "gpt-4o-mini");
    assert.equal(next.status, 200);
    await next.body?.cancel();
  } finally {
    const status = await gateway.stop();
    assert.equal(status.code, 0, gateway.stderr().slice(-2000));
  }
});

Deno.test("SIGTERM under load: every request in flight completes with 200, observers flush, exit 0", async () => {
  // Streams pace their chunks 150 ms apart, so they are mid-stream at SIGTERM.
  await using fake = await startFakeOpenAI({ chunkDelayMs: 150 });
  const STREAMS = 4;
  await using dir = await tempDir();
  const N = 12;
  for (let i = 0; i < N; i++) {
    fake.enqueue("/v1/chat/completions", {
      delayMs: 1500,
      body: chatCompletion(`slow answer ${i}`),
    });
  }
  const file = writeConfig(dir.path, {
    server: { shutdown_timeout_ms: 20_000 },
    plugins: [
      {
        name: "router",
        source: { type: "filesystem", path: faultyLauncher(dir.path) },
        capabilities: ["router"],
      },
      mockUpstream(fake.url),
      {
        name: "events",
        source: { type: "filesystem", path: bin("observer-stdout") },
        capabilities: ["observer"],
        fail_mode: "open",
        config: { include_payloads: false },
      },
    ],
  });
  const gateway = await startGatewayProcess(file);
  let stopped: Promise<Deno.CommandStatus> | undefined;
  try {
    const ids = Array.from({ length: N }, (_, i) => `load-${i}`);
    const pending = ids.map((id) =>
      fetch(`${gateway.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-request-id": id },
        body: JSON.stringify({
          model: "gpt-4o-mini",
          messages: [{ role: "user", content: id }],
        }),
      }).then(async (response) => ({ status: response.status, body: await response.json() }))
    );
    // The queued slow replies go to the JSON requests: streams start once those arrived.
    await waitFor("the JSON requests to reach the upstream", () => fake.requests.length >= N);
    const streams = Array.from({ length: STREAMS }, (_, i) => `stream-${i}`).map((id) =>
      fetch(`${gateway.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-request-id": id },
        body: JSON.stringify({
          model: "gpt-4o-mini",
          stream: true,
          messages: [{ role: "user", content: `a stream that takes a while ${id}` }],
        }),
      }).then(async (response) => ({ status: response.status, text: await response.text() }))
    );
    ids.push(...Array.from({ length: STREAMS }, (_, i) => `stream-${i}`));
    await waitFor("every request to reach the upstream", () => fake.requests.length >= N + STREAMS);
    stopped = gateway.stop();
    for (const stream of await Promise.all(streams)) {
      assert.equal(stream.status, 200);
      assert.ok(stream.text.trimEnd().endsWith("data: [DONE]"), `a stream was cut: ${stream.text}`);
      assert.match(stream.text, /takes/, "the stream carried its content");
    }
    const answers = await Promise.all(pending);
    for (const [i, answer] of answers.entries()) {
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.match(answer.body.choices[0].message.content, /^slow answer \d+$/, `request ${i}`);
    }
    const status = await stopped;
    assert.equal(status.code, 0, gateway.stderr().slice(-2000));
    // The observer flushed on shutdown: each request's completion event is in the log.
    const completed = new Set(
      gateway.stderr().split("\n").flatMap((line) => {
        if (!line.includes('"msg":"event"')) return [];
        const event = JSON.parse(line).event;
        return event.type === "request.completed" ? [event.request_id] : [];
      }),
    );
    for (const id of ids) assert.ok(completed.has(id), `no request.completed event for ${id}`);
    assert.match(gateway.stderr(), /"msg":"stopped"/);
  } finally {
    await (stopped ?? gateway.stop());
  }
});
