/**
 * Secrets never leak: a full run of the dev gateway with every kind of secret configured (a
 * client key, an upstream API key and header, an OTLP header, a Consul token), then every
 * output channel is searched for their values: gateway stdout and stderr (which carry every
 * plugin's log and observer-stdout's events), `/healthz`, `/v1/models`, every response and
 * error body, `/metrics`, the OTLP bodies, and each binary's `--describe`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { startFakeOpenAI } from "@vulpes/contract/testing";
import {
  bin,
  ROOT,
  startGatewayProcess,
  tempDir,
  waitFor,
  writeConfig,
} from "./testdata/harness.ts";

const SECRETS = {
  CLIENT_KEY: "sk-client-secret-7c1f0e9a2b4d",
  UPSTREAM_KEY: "sk-upstream-secret-5e8a1d3c9f70",
  UPSTREAM_HEADER: "hdr-upstream-secret-41b9e2a7",
  OTEL_TOKEN: "otel-secret-token-a93c55e1",
  CONSUL_TOKEN: "consul-secret-token-0d7be42f",
};

/**
 * A port nothing listens on. Not a freed ephemeral port: under parallel tests another server
 * may take that one (and a hanging server there turns fast refusals into timeouts).
 */
function closedPort(): number {
  return 1;
}

/** Every plugin of deno.json's `build:<plugin>` tasks that has a binary in bin/. */
function builtPlugins(): string[] {
  const tasks = JSON.parse(Deno.readTextFileSync(`${ROOT}/deno.json`)).tasks ?? {};
  return Object.keys(tasks).filter((task) => task.startsWith("build:")).map((task) => task.slice(6))
    .filter((name) => {
      try {
        return Deno.statSync(`${ROOT}/bin/${name}`).isFile;
      } catch {
        return false;
      }
    });
}

function leaks(channel: string, text: string): string[] {
  return Object.entries(SECRETS).filter(([, value]) => text.includes(value)).map(([name]) =>
    `${name} in ${channel}`
  );
}

Deno.test("secrets never appear in logs, errors, events, health, metrics, traces or --describe", async () => {
  await using fake = await startFakeOpenAI({ apiKey: SECRETS.UPSTREAM_KEY });
  const otlp: { auth: string | null; body: string }[] = [];
  await using collector = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      otlp.push({ auth: request.headers.get("x-otel-auth"), body: await request.text() });
      return new Response("{}", { headers: { "content-type": "application/json" } });
    },
  );
  await using dir = await tempDir();
  const upstream = (name: string, binary: string) => ({
    name,
    source: { type: "filesystem", path: bin(binary) },
    capabilities: ["upstream_provider"],
    config: {
      base_url: `${fake.url}/v1`,
      api_key: "${secret:UPSTREAM_KEY}",
      headers: { "x-extra": "${secret:UPSTREAM_HEADER}" },
    },
  });
  const file = writeConfig(dir.path, {
    server: { capture_payloads: true },
    secrets: { providers: [{ type: "env" }] },
    plugins: [
      {
        name: "keys",
        source: { type: "filesystem", path: bin("authn-static-api-key") },
        capabilities: ["authenticator"],
        config: { keys: [{ id: "c", key: "${secret:CLIENT_KEY}", subject: "s", tenant: "t" }] },
      },
      {
        name: "router",
        source: { type: "filesystem", path: bin("router-weighted") },
        capabilities: ["router"],
        config: {
          models: {
            "gpt-4o-mini": { targets: [{ upstream: "mock" }] },
            "gpt-5-mini": { targets: [{ upstream: "codex" }] },
          },
        },
      },
      {
        name: "consul", // unreachable: its errors and health detail must not carry the token
        source: { type: "filesystem", path: bin("router-consul") },
        capabilities: ["router"],
        fail_mode: "open",
        config: {
          address: `http://127.0.0.1:${closedPort()}`,
          token: "${secret:CONSUL_TOKEN}",
          services: ["vllm"],
          upstream: "mock",
          backoff: { initial_ms: 50, max_ms: 200 },
        },
      },
      upstream("mock", "upstream-openai"),
      upstream("codex", "upstream-codex"),
      {
        name: "events",
        source: { type: "filesystem", path: bin("observer-stdout") },
        capabilities: ["observer"],
        fail_mode: "open",
        config: { include_payloads: true },
      },
      {
        name: "metrics",
        source: { type: "filesystem", path: bin("observer-prometheus") },
        capabilities: ["observer"],
        fail_mode: "open",
        config: { listen: { hostname: "127.0.0.1", port: 0 } },
      },
      {
        name: "traces",
        source: { type: "filesystem", path: bin("observer-otel") },
        capabilities: ["observer"],
        fail_mode: "open",
        config: {
          endpoint: `http://127.0.0.1:${collector.addr.port}`,
          headers: { "x-otel-auth": "${secret:OTEL_TOKEN}" },
          batch: { max_size: 8, interval_ms: 100 },
        },
      },
    ],
  });
  const gateway = await startGatewayProcess(file, SECRETS);
  const seen: [string, string][] = [];
  async function call(what: string, path: string, init: RequestInit = {}) {
    const response = await fetch(`${gateway.url}${path}`, init);
    const text = await response.text();
    seen.push([`${what} (${response.status})`, `${[...response.headers].join("\n")}\n${text}`]);
    return { status: response.status, text };
  }
  const auth = {
    authorization: `Bearer ${SECRETS.CLIENT_KEY}`,
    "content-type": "application/json",
  };
  const chat = (model: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ model, messages: [{ role: "user", content: "Hello" }], ...extra });
  let stopped = false;
  try {
    assert.equal(
      (await call("chat", "/v1/chat/completions", {
        method: "POST",
        headers: auth,
        body: chat("gpt-4o-mini"),
      })).status,
      200,
    );
    assert.equal(
      fake.requests.at(-1)!.headers["x-extra"],
      SECRETS.UPSTREAM_HEADER,
      "the header secret reached the upstream",
    );
    assert.equal(
      (await call("stream", "/v1/chat/completions", {
        method: "POST",
        headers: auth,
        body: chat("gpt-4o-mini", { stream: true }),
      })).status,
      200,
    );
    assert.equal(
      (await call("codex", "/v1/chat/completions", {
        method: "POST",
        headers: auth,
        body: chat("gpt-5-mini"),
      })).status,
      200,
    );
    fake.enqueue("/v1/chat/completions", {
      status: 401,
      body: { error: { message: "Incorrect API key provided", type: "invalid_request_error" } },
    });
    assert.notEqual(
      (await call("upstream 401", "/v1/chat/completions", {
        method: "POST",
        headers: auth,
        body: chat("gpt-4o-mini"),
      })).status,
      200,
    );
    fake.enqueue("/v1/chat/completions", { status: 500, body: { error: { message: "boom" } } });
    await call("upstream 500", "/v1/chat/completions", {
      method: "POST",
      headers: auth,
      body: chat("gpt-4o-mini"),
    });
    assert.equal(
      (await call("bad key", "/v1/chat/completions", {
        method: "POST",
        headers: { ...auth, authorization: "Bearer sk-wrong" },
        body: chat("gpt-4o-mini"),
      })).status,
      401,
    );
    await call("unknown model", "/v1/chat/completions", {
      method: "POST",
      headers: auth,
      body: chat("nope"),
    });
    await call("bad json", "/v1/chat/completions", { method: "POST", headers: auth, body: "{" });
    await call("models", "/v1/models", { headers: auth });
    const health = await call("healthz", "/healthz");
    const metricsUrl = JSON.parse(health.text).plugins.metrics.detail?.url;
    assert.equal(typeof metricsUrl, "string", health.text);
    const metrics = await fetch(new URL("/metrics", metricsUrl));
    seen.push(["/metrics", await metrics.text()]);
    assert.match(seen.at(-1)![1], /vulpes_/, "metrics were scraped");
    await waitFor("OTLP exports", () => otlp.length > 0);
    assert.equal(otlp[0]!.auth, SECRETS.OTEL_TOKEN, "the OTLP header secret reached the collector");
    await waitFor("consul errors in the log", () => /consul/i.test(gateway.stderr()), 5000).catch(
      () => {},
    );
    const status = await gateway.stop();
    stopped = true;
    assert.equal(status.code, 0, gateway.stderr().slice(-2000));
  } finally {
    if (!stopped) await gateway.stop();
  }
  const found = [
    ...leaks("gateway stdout", gateway.stdout()),
    ...leaks("gateway stderr", gateway.stderr()),
    ...seen.flatMap(([channel, text]) => leaks(channel, text)),
    ...otlp.flatMap(({ body }) => leaks("OTLP body", body)),
  ];
  for (const name of builtPlugins()) {
    const output = await new Deno.Command(bin(name), { args: ["--describe"], env: SECRETS })
      .output();
    const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
    found.push(...leaks(`${name} --describe`, text));
  }
  assert.deepEqual(found, []);
  // The run really exercised the channels that are searched.
  assert.match(gateway.stderr(), /"msg":"event"/, "observer-stdout events were logged");
  assert.ok(seen.length >= 10);
});
