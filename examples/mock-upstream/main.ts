/**
 * The built-in mock upstream of `make run`: lib's fake OpenAI-compatible server on
 * 127.0.0.1:4010, so the dev gateway runs without an API key. Chat completions echo the last
 * user message (`Echo: <text>`), embeddings are deterministic vectors. Beside it, an OTLP/HTTP
 * sink on 127.0.0.1:4318 takes observer-otel's traces and metrics (and only counts them), so the
 * example config can use every observer without a collector.
 *
 * ```
 * deno run --allow-net --allow-env examples/mock-upstream/main.ts [--port 4010] [--otlp-port 4318]
 * ```
 *
 * Prints `mock upstream listening on <url>/v1` and stops on SIGINT/SIGTERM.
 *
 * @module
 */

import { startFakeOpenAI } from "@vulpes/contract/testing";

function port(flag: string, variable: string, fallback: number): number {
  const index = Deno.args.indexOf(flag);
  const text = index >= 0 ? Deno.args[index + 1] : Deno.env.get(variable);
  const value = Number(text ?? fallback);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new RangeError(`Cannot use port "${text}": expected an integer from 0 to 65535`);
  }
  return value;
}

async function main(): Promise<void> {
  const fake = await startFakeOpenAI({
    port: port("--port", "VULPES_MOCK_PORT", 4010),
    chunkDelayMs: 20,
    record: false,
  });
  const otlp = Deno.serve({
    hostname: "127.0.0.1",
    port: port("--otlp-port", "VULPES_OTLP_PORT", 4318),
    onListen() {},
  }, async (request) => {
    await request.body?.cancel();
    const path = new URL(request.url).pathname;
    const known = request.method === "POST" && (path === "/v1/traces" || path === "/v1/metrics");
    return known ? Response.json({}) : new Response("not found", { status: 404 });
  });
  Deno.stdout.writeSync(new TextEncoder().encode(`mock upstream listening on ${fake.url}/v1\n`));
  const { promise, resolve } = Promise.withResolvers<void>();
  Deno.addSignalListener("SIGINT", resolve);
  Deno.addSignalListener("SIGTERM", resolve);
  await promise;
  await fake.close();
  await otlp.shutdown();
  Deno.exit(0);
}

if (import.meta.main) main();
