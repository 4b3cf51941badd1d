/**
 * The built-in mock upstream of `make run`: lib's fake OpenAI-compatible server on
 * 127.0.0.1:4010, so the dev gateway runs without an API key. Chat completions echo the last
 * user message (`Echo: <text>`), embeddings are deterministic vectors.
 *
 * ```
 * deno run --allow-net examples/mock-upstream/main.ts [--port 4010]   # or VULPES_MOCK_PORT
 * ```
 *
 * Prints `mock upstream listening on <url>/v1` and stops on SIGINT/SIGTERM.
 *
 * @module
 */

import { startFakeOpenAI } from "@vulpes/contract/testing";

function port(): number {
  const index = Deno.args.indexOf("--port");
  const text = index >= 0 ? Deno.args[index + 1] : Deno.env.get("VULPES_MOCK_PORT");
  const value = Number(text ?? 4010);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new RangeError(`Cannot use port "${text}": expected an integer from 0 to 65535`);
  }
  return value;
}

async function main(): Promise<void> {
  const fake = await startFakeOpenAI({ port: port(), chunkDelayMs: 20 });
  Deno.stdout.writeSync(new TextEncoder().encode(`mock upstream listening on ${fake.url}/v1\n`));
  const { promise, resolve } = Promise.withResolvers<void>();
  Deno.addSignalListener("SIGINT", resolve);
  Deno.addSignalListener("SIGTERM", resolve);
  await promise;
  await fake.close();
  Deno.exit(0);
}

if (import.meta.main) main();
