import assert from "node:assert/strict";
import { encodeSse } from "@vulpes/contract/openai";
import { type PluginInstance, servePlugin } from "@vulpes/contract/plugin";
import { createLinkedPair, Peer, PluginError } from "@vulpes/contract/protocol";
import { createTestCall, createTestContext } from "@vulpes/contract/testing";
import { configSchema } from "./config.ts";
import { plugin } from "./mod.ts";

type Json = Record<string, unknown>;

const RESPONSE = {
  id: "resp_1",
  object: "response",
  created_at: 1,
  model: "codex-mini",
  status: "completed",
  output: [{
    type: "message",
    role: "assistant",
    content: [{ type: "output_text", text: "ok" }],
  }],
  usage: { input_tokens: 1, output_tokens: 1, total_tokens: 2 },
};

function sseBody(events: Json[]): ReadableStream<Uint8Array> {
  const text = events.map((event) => encodeSse(JSON.stringify(event), String(event.type))).join("");
  return ReadableStream.from([new TextEncoder().encode(text)]);
}

async function instance(
  fetch: typeof globalThis.fetch,
  config: Json = {},
): Promise<PluginInstance> {
  return await plugin.create(
    configSchema.parse({ base_url: "http://upstream.test/v1/", ...config }),
    createTestContext({ fetch }),
  );
}

const PARAMS = {
  route: { upstream: "codex", model: "codex-mini" },
  request: { messages: [{ role: "user", content: "hi" }] },
  stream: false,
};

Deno.test("chat() posts to {base_url}/responses with the call's signal", async () => {
  const seen: { url: string; init: RequestInit }[] = [];
  const p = await instance((url, init) => {
    seen.push({ url: String(url), init: init! });
    return Promise.resolve(Response.json(RESPONSE));
  });
  const result = await p.upstream_provider!.chat(PARAMS, createTestCall());
  assert.equal(seen[0]!.url, "http://upstream.test/v1/responses");
  assert.equal(seen[0]!.init.method, "POST");
  assert.ok(seen[0]!.init.signal instanceof AbortSignal);
  const choices = (result as { response: Json }).response.choices as Json[];
  assert.equal((choices[0]!.message as Json).content, "ok");
});

Deno.test("chat() aborts the HTTP request as soon as the call is cancelled", async () => {
  let aborted = false;
  const p = await instance((_url, init) =>
    new Promise((_resolve, reject) => {
      init!.signal!.addEventListener("abort", () => {
        aborted = true;
        reject(init!.signal!.reason);
      });
    })
  );
  const call = createTestCall();
  const answer = p.upstream_provider!.chat(PARAMS, call);
  const reason = new Error("cancelled by the core");
  call.cancel(reason);
  await assert.rejects(Promise.resolve(answer), (error) => error === reason);
  assert.equal(aborted, true);
  assert.deepEqual((await p.health!()).detail, { calls: 1, failures: 1, in_flight: 0 });
});

Deno.test("chat() streams chunks as upstream.chunk notifications with the call's id", async () => {
  const p = await instance(() =>
    Promise.resolve(
      new Response(
        sseBody([
          { type: "response.created", response: { ...RESPONSE, status: "in_progress" } },
          { type: "response.output_text.delta", item_id: "m", content_index: 0, delta: "ok" },
          { type: "response.completed", response: RESPONSE },
        ]),
        { headers: { "content-type": "text/event-stream" } },
      ),
    )
  );
  const call = createTestCall({ id: 7 });
  const summary = await p.upstream_provider!.chat({ ...PARAMS, stream: true }, call);
  const sent = call.notifications;
  assert.deepEqual(sent.map((n) => n.method), Array(4).fill("upstream.chunk"));
  assert.ok(sent.every((n) => (n.params as Json).id === 7));
  assert.deepEqual(summary, {
    finish_reason: "stop",
    usage: {
      prompt_tokens: 1,
      completion_tokens: 1,
      total_tokens: 2,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0 },
    },
  });
});

Deno.test("chat() refuses a request it cannot map before any HTTP call", async () => {
  let calls = 0;
  const p = await instance(() => {
    calls++;
    return Promise.resolve(Response.json(RESPONSE));
  });
  const request = { messages: [{ role: "user", content: "hi" }], stop: ["END"] };
  await assert.rejects(
    Promise.resolve(p.upstream_provider!.chat({ ...PARAMS, request }, createTestCall())),
    (error) => error instanceof PluginError && error.type === "bad_request",
  );
  assert.equal(calls, 0);
});

Deno.test("the plugin offers no embeddings", async () => {
  const p = await instance(() => Promise.reject(new Error("unused")));
  assert.equal(p.upstream_provider!.embeddings, undefined);
});

Deno.test("upstream-codex serves a whole session in memory", async () => {
  const [core, side] = createLinkedPair();
  const served = servePlugin(plugin, side, {
    writeLog: () => {},
    context: { fetch: () => Promise.resolve(Response.json(RESPONSE)) },
  });
  const host = new Peer(core);
  await host.start();
  await host.request("initialize", {
    protocol_version: "1",
    instance: "codex",
    capabilities: ["upstream_provider"],
    config: { base_url: "http://upstream.test/v1" },
    settings: { capture_payloads: false },
  });
  const result = await host.request("upstream.chat", PARAMS) as { response: Json };
  assert.equal(result.response.object, "chat.completion");
  assert.deepEqual(await host.request("health"), {
    status: "ok",
    detail: { calls: 1, failures: 0, in_flight: 0 },
  });
  await host.request("shutdown");
  await served.done;
});
