/**
 * Hostile input on the protocol layer of every plugin binary: for each `build:<plugin>` task of
 * deno.json, a fast-check driven session through the real bin/<plugin> sends random bytes
 * (before and after `initialize`), deeply nested JSON, strings near and over the line cap and wrong params for each capability
 * method. Every request gets an answer with its id (never an internal error), `health` answers
 * after every case, the process stays alive, and stdout carries only JSON-RPC.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { parse } from "yaml";
import { describePlugin } from "@vulpes/contract/host";
import { methodsOf } from "../lib/capabilities/methods.ts";
import type { CapabilityName } from "../lib/capabilities/lifecycle.ts";
import { RawSession } from "../lib/testing/_raw_session.ts";
import { ROOT } from "./_support.ts";

/** Small enough that huge strings are cheap, large enough for thousands of nesting levels. */
const LINE_CAP = 65_536;
const RUNS = 50;

/**
 * A port nothing listens on. Not a freed ephemeral port: under parallel tests another server
 * may take that one (and a hanging server there turns fast refusals into timeouts).
 */
function closedPort(): number {
  return 1;
}

/** A valid config per plugin; network upstreams point at a closed 127.0.0.1 port. */
function configs(): Record<string, unknown> {
  const closed = `http://127.0.0.1:${closedPort()}`;
  const example = parse(Deno.readTextFileSync(`${ROOT}/examples/gateway.yaml`)) as {
    plugins: { source: { path: string }; config: Record<string, unknown> }[];
  };
  const found: Record<string, unknown> = {};
  for (const plugin of example.plugins) {
    found[plugin.source.path.split("/").at(-1)!] ??= plugin.config;
  }
  return {
    ...found,
    "upstream-openai": { base_url: `${closed}/v1` },
    "upstream-codex": { base_url: `${closed}/v1` },
    "observer-prometheus": { listen: { hostname: "127.0.0.1", port: 0 } },
    "observer-otel": { endpoint: closed, protocol: "http/json" },
    "router-litellm": {
      model_list: [{ model_name: "gpt-4o-mini", upstream: "openai", model: "gpt-4o-mini" }],
    },
    // Being written as this test lands: configs pointing at closed ports (no database or
    // object store is needed to fuzz the protocol layer).
    "authn-postgres-api-key": { database_url: `postgres://u:p@127.0.0.1:${closedPort()}/db` },
    "cache-redis": { url: `redis://:fuzz-pw@127.0.0.1:${closedPort()}`, local: {} },
    "observer-s3-transcripts": {
      s3: {
        endpoint: closed,
        bucket: "transcripts",
        force_path_style: true,
        access_key_id: "AKIDFUZZ",
        secret_access_key: "fuzz-secret",
      },
    },
    "ratelimit-redis": {
      url: `redis://127.0.0.1:${closedPort()}`,
      rules: [{ name: "r", window: "1m", tokens: 9 }],
    },
    "router-consul": {
      address: closed,
      services: ["vllm"],
      upstream: "pool",
      backoff: { initial_ms: 1000, max_ms: 5000 },
    },
  };
}

function pluginNames(): string[] {
  const tasks = JSON.parse(Deno.readTextFileSync(`${ROOT}/deno.json`)).tasks ?? {};
  return Object.keys(tasks).filter((task) => task.startsWith("build:")).map((task) => task.slice(6))
    .sort();
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

type FuzzCase =
  | { kind: "bytes"; bytes: Uint8Array }
  | { kind: "deep"; method: string; depth: number; open: "[" | "{" }
  | { kind: "huge"; method: string; size: number }
  | { kind: "params"; method: string; params: unknown }
  | { kind: "envelope"; message: unknown };

function fuzzCases(methods: string[]): fc.Arbitrary<FuzzCase> {
  const method = fc.constantFrom(...methods, "health", "no.such.method");
  return fc.oneof(
    fc.record({ kind: fc.constant("bytes" as const), bytes: fc.uint8Array({ maxLength: 4096 }) }),
    fc.record({
      kind: fc.constant("deep" as const),
      method,
      depth: fc.integer({ min: 1000, max: 20_000 }),
      open: fc.constantFrom("[" as const, "{" as const),
    }),
    fc.record({
      kind: fc.constant("huge" as const),
      method,
      size: fc.integer({ min: LINE_CAP - 200, max: LINE_CAP + 20_000 }),
    }),
    fc.record({
      kind: fc.constant("params" as const),
      method: fc.constantFrom(...methods),
      params: fc.oneof(
        fc.anything({ maxDepth: 3 }),
        fc.dictionary(
          fc.constantFrom("model", "credentials", "request", "namespace", "key", "value", "events"),
          fc.oneof(fc.integer(), fc.string(), fc.boolean(), fc.constant(null), fc.array(fc.nat())),
        ),
      ),
    }),
    fc.record({
      kind: fc.constant("envelope" as const),
      message: fc.oneof(
        fc.anything({ maxDepth: 2 }),
        fc.record({ jsonrpc: fc.anything({ maxDepth: 1 }), method: fc.anything({ maxDepth: 1 }) }),
      ),
    }),
  );
}

/** Methods the plugin answers (notifications get no answer). */
const NOTIFICATIONS = new Set(["router.feedback", "observer.emit"]);

async function runCase(session: RawSession, c: FuzzCase, id: number): Promise<void> {
  const expectAnswer = (method: string) => !NOTIFICATIONS.has(method);
  switch (c.kind) {
    case "bytes":
      await session.write(c.bytes);
      await session.write("\n");
      return;
    case "envelope":
      await session.write(JSON.stringify(c.message ?? null) + "\n");
      return;
    case "deep": {
      const close = c.open === "[" ? "]" : "}";
      const inner = c.open === "[" ? "[" : '{"a":';
      const nested = inner.repeat(c.depth) + "0" + close.repeat(c.depth);
      const head = `{"jsonrpc":"2.0","id":${id},"method":${JSON.stringify(c.method)},"params":`;
      await session.write(`${head}{"deep":${nested}}}\n`);
      if (expectAnswer(c.method)) await expectCleanAnswer(session, id, c);
      return;
    }
    case "huge": {
      const head = `{"jsonrpc":"2.0","id":${id},"method":${JSON.stringify(c.method)},"params":`;
      await session.write(`${head}{"s":"${"x".repeat(c.size)}"}}\n`);
      // Over the cap: answered by id from the line's first bytes; under: by the method.
      if (c.size > LINE_CAP || expectAnswer(c.method)) await expectCleanAnswer(session, id, c);
      return;
    }
    case "params":
      if (!expectAnswer(c.method)) {
        await session.send({ jsonrpc: "2.0", method: c.method, params: c.params });
        return;
      }
      await session.send({ jsonrpc: "2.0", id, method: c.method, params: c.params });
      await expectCleanAnswer(session, id, c);
  }
}

async function expectCleanAnswer(session: RawSession, id: number, c: FuzzCase): Promise<void> {
  const answer = await session.answer((a) => a.id === id, 10_000);
  if (answer.error) {
    assert.notEqual(
      answer.error.code,
      -32603,
      `internal error for ${describeCase(c)}: ${answer.error.message}`,
    );
    assert.ok(answer.error.message.length > 0, "an error has a message");
  }
}

function describeCase(c: FuzzCase): string {
  switch (c.kind) {
    case "deep":
      return `${c.method} with ${c.depth} levels of ${c.open}`;
    case "huge":
      return `${c.method} with a ${c.size}-byte string`;
    case "params":
      return `${c.method} with params ${JSON.stringify(c.params)?.slice(0, 200)}`;
    default:
      return c.kind;
  }
}

/** VmRSS of a process in KiB (the launchers exec, so the pid is the plugin's runtime). */
function rssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

async function fuzzPlugin(name: string, config: unknown): Promise<void> {
  const binary = `${ROOT}/bin/${name}`;
  const manifest = await describePlugin(binary);
  const capabilities = manifest.capabilities as CapabilityName[];
  const methods = capabilities.flatMap((capability) => methodsOf(capability));
  const session = new RawSession(binary);
  let id = 1;
  try {
    // Before initialize: random bytes, then a health call, which reports "not initialized".
    for (const bytes of fc.sample(fc.uint8Array({ maxLength: 2048 }), { numRuns: 100, seed: 42 })) {
      await session.write(bytes);
    }
    await session.write("\n");
    const early = await session.call(id++, "health", undefined, 10_000);
    assert.deepEqual(early.result, {
      status: "unavailable",
      detail: { reason: "not initialized" },
    }, `health before initialize, after random bytes: ${JSON.stringify(early)}`);
    const init = await session.call(id++, "initialize", {
      protocol_version: "1",
      instance: `fuzz-${name}`,
      capabilities,
      config,
      settings: { capture_payloads: false, max_message_bytes: LINE_CAP },
    }, 30_000);
    assert.ok(init.result, `initialize failed: ${JSON.stringify(init.error)}`);
    const rssBefore = rssKiB(session.pid);
    await fc.assert(
      fc.asyncProperty(fuzzCases(methods), async (c) => {
        await runCase(session, c, id++);
        const health = await session.call(id++, "health", undefined, 10_000);
        assert.ok(health.result, `health after ${describeCase(c)}: ${JSON.stringify(health)}`);
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    // Memory stays bounded: what the cases leave behind (at most 50 lines of ≤ 84 KiB) is
    // small next to the 64 MiB allowed for V8's heap growth after the first allocations.
    const rssAfter = rssKiB(session.pid);
    assert.ok(rssAfter <= rssBefore + 64 * 1024, `RSS grew from ${rssBefore} to ${rssAfter} KiB`);
    let exited = false;
    session.status.then(() => (exited = true));
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(exited, false, "the plugin is alive");
    const bye = await session.call(id++, "shutdown", undefined, 15_000).catch((error) => {
      const tail = session.stderrLines.slice(-5).map((line) => line.slice(0, 300)).join("\n");
      throw new Error(`${(error as Error).message}; last log lines:\n${tail}`);
    });
    assert.ok(bye.result !== undefined, "shutdown answered");
    const { status, killed } = await session.exit(15_000);
    assert.equal(killed, false, "exits after shutdown");
    assert.equal(status.code, 0, session.stderrLines.slice(-5).join("\n"));
  } finally {
    await session.kill();
  }
  // Every case was followed by a health call, so at least that many answers came back.
  assert.ok(session.stdoutLines.length >= RUNS + 2, `only ${session.stdoutLines.length} answers`);
  for (const line of session.stdoutLines) {
    const message = JSON.parse(line);
    assert.equal(message.jsonrpc, "2.0", `stdout line is not JSON-RPC: ${line.slice(0, 200)}`);
  }
}

const CONFIGS = configs();
for (const name of pluginNames()) {
  const binary = `${ROOT}/bin/${name}`;
  const config = CONFIGS[name];
  const missing = !exists(binary)
    ? `bin/${name} is missing (run "make build")`
    : config === undefined
    ? `no fuzz config for ${name}: add one to configs() in tests/protocol_fuzz_test.ts`
    : undefined;
  Deno.test({
    name: `bin/${name} answers ${RUNS} hostile protocol inputs cleanly and stays healthy${
      missing ? ` (skipped: ${missing})` : ""
    }`,
    ignore: missing !== undefined,
    fn: () => fuzzPlugin(name, config),
  });
}
