/**
 * End to end with the real plugins of examples/gateway.yaml: cache-memory answers a repeated
 * request, ratelimit-memory refuses a burst with the rate-limit headers, the prompt plugins
 * rewrite what the upstream receives, observer-stdout, observer-prometheus and observer-otel
 * record the requests, and a stuck observer never holds a response back.
 *
 * @module
 */

import assert from "node:assert/strict";
import OpenAI from "openai";
import { type FakeOpenAI, startFakeOpenAI } from "@vulpes/contract/testing";
import { type GatewayProcess, ROOT, startGatewayProcess, tempDir } from "./testdata/harness.ts";

const KEY = "sk-vulpes-demo";

/** The part of an OTLP/HTTP JSON traces body the test reads. */
interface OtlpTraces {
  resourceSpans: {
    scopeSpans: {
      spans: {
        name: string;
        attributes: { key: string; value: Record<string, unknown> & { stringValue?: string } }[];
      }[];
    }[];
  }[];
}

interface Setup {
  mock: FakeOpenAI;
  /** OTLP/HTTP JSON bodies received by the capture server (observer-otel's exports). */
  otlp: { path: string; body: unknown }[];
  gateway: GatewayProcess;
  dir: string;
  [Symbol.asyncDispose](): Promise<void>;
}

/** examples/gateway.yaml with free ports, absolute binaries and a few values changed. */
async function exampleGateway(edit: (yaml: string) => string = (y) => y): Promise<Setup> {
  // Whatever was started is stopped when a later step throws; returned, the setup owns it.
  await using started = new AsyncDisposableStack();
  const mock = started.use(await startFakeOpenAI());
  const otlp: { path: string; body: unknown }[] = [];
  const collector = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      otlp.push({
        path: new URL(request.url).pathname,
        body: await request.json().catch(() => null),
      });
      return Response.json({});
    },
  );
  started.defer(() => collector.shutdown());
  const dir = await Deno.makeTempDir();
  started.defer(() => Deno.remove(dir, { recursive: true }));
  const yaml = edit(
    Deno.readTextFileSync(`${ROOT}/examples/gateway.yaml`)
      .replaceAll("http://127.0.0.1:4010/v1", `${mock.url}/v1`)
      .replaceAll("http://127.0.0.1:4318", `http://127.0.0.1:${collector.addr.port}`)
      .replaceAll("../bin/", `${ROOT}/bin/`)
      .replaceAll("port: 9478", "port: 0"),
  );
  Deno.writeTextFileSync(`${dir}/gateway.yaml`, yaml);
  const gateway = await startGatewayProcess(`${dir}/gateway.yaml`);
  started.defer(async () => {
    await gateway.stop();
  });
  const owned = started.move();
  return { mock, otlp, gateway, dir, [Symbol.asyncDispose]: () => owned.disposeAsync() };
}

function chat(url: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json", ...headers },
    body: JSON.stringify({ model: "gpt-4o-mini", ...body }),
  });
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

Deno.test("examples/gateway.yaml: cache-memory serves a repeated request and the prompt plugins shape what the upstream gets", async () => {
  await using setup = await exampleGateway();
  const { gateway, mock } = setup;
  const messages = [{ role: "user", content: "cache me" }];
  const first = await chat(gateway.url, { messages });
  assert.equal(first.status, 200);
  assert.equal(first.headers.get("x-vulpes-cache"), "miss");
  const firstBody = await first.json();
  const second = await chat(gateway.url, { messages });
  assert.equal(second.headers.get("x-vulpes-cache"), "hit");
  assert.deepEqual((await second.json()).choices, firstBody.choices);
  assert.equal(mock.requests.filter((r) => r.path === "/v1/chat/completions").length, 1);

  const client = new OpenAI({ apiKey: KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
  await client.chat.completions.create({
    model: "gpt-4o-mini",
    messages: [{ role: "user", content: "Where is my invoice?" }],
    // deno-lint-ignore no-explicit-any
    prompt: { id: "support-bot", variables: { product: "Vulpes" } } as any,
  } as OpenAI.ChatCompletionCreateParamsNonStreaming);
  const sent = mock.requests.at(-1)!.body as {
    messages: { role: string; content: string }[];
    prompt?: unknown;
  };
  assert.equal(sent.prompt, undefined, "the prompt reference does not go upstream");
  const texts = sent.messages.map((m) => `${m.role}: ${m.content}`);
  assert.ok(
    texts.includes("system: You are the support assistant of Vulpes. Answer in English."),
    texts.join("\n"),
  );
  assert.ok(
    texts.some((t) => t.startsWith("system: ") && t.includes("Be brief and friendly.")),
    texts.join("\n"),
  );
  assert.equal(texts.at(-1), "user: Where is my invoice?");
  const unknown = await chat(gateway.url, { messages, prompt: { id: "no-such-prompt" } });
  assert.equal(unknown.status, 404);
  assert.match((await unknown.json()).error.message, /no-such-prompt/);
});

Deno.test("examples/gateway.yaml: ratelimit-memory refuses a burst with 429 and the rate-limit headers", async () => {
  await using setup = await exampleGateway((yaml) =>
    yaml.replace(
      "{ name: per-key-requests, window: 1m, requests: 60, key_by: [subject] }",
      "{ name: per-key-requests, window: 1m, requests: 3, key_by: [subject] }",
    )
  );
  const { gateway } = setup;
  const answers: Response[] = [];
  for (let i = 0; i < 4; i++) {
    answers.push(await chat(gateway.url, { messages: [{ role: "user", content: `burst ${i}` }] }));
  }
  assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 429]);
  assert.equal(answers[0]!.headers.get("x-ratelimit-limit-requests"), "3");
  assert.equal(answers[2]!.headers.get("x-ratelimit-remaining-requests"), "0");
  const refused = answers[3]!;
  const retryAfter = Number(refused.headers.get("retry-after"));
  assert.ok(retryAfter >= 1 && retryAfter <= 60, `retry-after ${retryAfter}`);
  assert.equal(refused.headers.get("x-ratelimit-remaining-requests"), "0");
  assert.ok(refused.headers.get("x-ratelimit-reset-requests"));
  const body = await refused.json();
  assert.equal(body.error.type, "rate_limit_error");
  for (const answer of answers.slice(0, 3)) await answer.body?.cancel();
});

Deno.test("examples/gateway.yaml: observer-stdout logs each request, observer-prometheus counts it, observer-otel traces it", async () => {
  await using setup = await exampleGateway();
  const { gateway } = setup;
  const answer = await chat(gateway.url, { messages: [{ role: "user", content: "observe me" }] });
  const requestId = answer.headers.get("x-request-id")!;
  await answer.body?.cancel();
  await waitFor(
    "the observer-stdout line",
    () =>
      gateway.stderr().split("\n").some((line) =>
          line.includes('"msg":"event"') && line.includes(requestId)
        )
        ? true
        : undefined,
  );
  const health = await (await fetch(`${gateway.url}/healthz`)).json();
  const metricsUrl = health.plugins.metrics.detail.url as string;
  const text = await waitFor("the request in /metrics", async () => {
    const body = await (await fetch(metricsUrl)).text();
    return /vulpes_requests_total\{[^}]*model="gpt-4o-mini"[^}]*\} 1/.test(body) ? body : undefined;
  });
  assert.match(text, /# TYPE vulpes_request_duration_seconds histogram/);
  // observer-otel: the request's span reaches the collector with the GenAI attributes.
  const span = await waitFor(
    "the request span at the collector",
    () =>
      setup.otlp.filter((r) => r.path === "/v1/traces")
        .flatMap((r) => (r.body as OtlpTraces | null)?.resourceSpans ?? [])
        .flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans))
        .find((candidate) =>
          candidate.attributes.some((a) =>
            a.key === "vulpes.request_id" && a.value.stringValue === requestId
          )
        ),
  );
  const attributes = Object.fromEntries(
    span.attributes.map((a) => [a.key, Object.values(a.value)[0]]),
  );
  assert.equal(attributes["gen_ai.request.model"], "gpt-4o-mini");
  assert.equal(span.name, "chat gpt-4o-mini");
});

Deno.test("a stuck observer never holds a response back", async () => {
  await using mock = await startFakeOpenAI();
  await using dir = await tempDir();
  const launcher = `${dir.path}/stuck-observer`;
  Deno.writeTextFileSync(
    launcher,
    `#!/bin/sh\nexec '${Deno.execPath()}' run --quiet --no-prompt --config '${ROOT}/deno.json' '${ROOT}/examples/dev-gateway/testdata/stuck_observer.ts' "$@"\n`,
    { mode: 0o755 },
  );
  const yaml = Deno.readTextFileSync(`${ROOT}/examples/gateway.yaml`)
    .replaceAll("http://127.0.0.1:4010/v1", `${mock.url}/v1`)
    .replaceAll("../bin/", `${ROOT}/bin/`)
    .replaceAll("port: 9478", "port: 0")
    // Any request held back by the observer would now fail with a timeout.
    .replace("request_timeout_ms: 120000", "request_timeout_ms: 2000") +
    `\n  - name: stuck\n    source: { type: filesystem, path: ${launcher} }\n    capabilities: [observer]\n    fail_mode: open\n    config: {}\n`;
  Deno.writeTextFileSync(`${dir.path}/gateway.yaml`, yaml);
  const gateway = await startGatewayProcess(`${dir.path}/gateway.yaml`);
  try {
    for (let i = 0; i < 15; i++) {
      const answer = await chat(gateway.url, {
        messages: [{ role: "user", content: `slow sink ${i}` }],
      });
      const text = await answer.text();
      assert.equal(answer.status, 200, text);
    }
  } finally {
    await gateway.stop();
  }
});

Deno.test("examples/gateway.yaml: a client that leaves mid-stream is recorded as 499, not as a server error", async () => {
  await using setup = await exampleGateway();
  const { gateway, mock } = setup;
  mock.enqueue("/v1/chat/completions", {
    headers: { "content-type": "text/event-stream" },
    events: Array.from({ length: 50 }, (_, i) => ({
      data: JSON.stringify({
        id: "c",
        object: "chat.completion.chunk",
        created: 1,
        model: "gpt-4o-mini",
        choices: [{ index: 0, delta: { content: `w${i} ` }, finish_reason: null }],
      }),
    })),
    eventDelayMs: 50,
  });
  const answer = await chat(gateway.url, {
    stream: true,
    messages: [{ role: "user", content: "long story" }],
  });
  const requestId = answer.headers.get("x-request-id")!;
  const reader = answer.body!.getReader();
  await reader.read();
  await reader.cancel();
  const line = await waitFor(
    "the failed request's event",
    () =>
      gateway.stderr().split("\n").find((l) =>
        l.includes('"request.failed"') && l.includes(requestId)
      ),
  );
  const event = JSON.parse(line).event;
  assert.equal(event.status, 499);
  assert.equal(event.error.type, "client_closed_request");
});
