/**
 * The mock upstream of bench/e2e.ts, as a process of its own: lib's fake OpenAI server with no
 * artificial delay (no `delayMs`, `chunkDelayMs: 0`), so a streamed answer is its few chunks
 * written back to back. Chat completions echo the last user message (`Echo: <text>`).
 *
 * ```
 * deno run --allow-net bench/_e2e_mock.ts   # prints "mock upstream listening on <url>"
 * ```
 *
 * Listens on a free port of 127.0.0.1 and stops on SIGINT/SIGTERM. It keeps no record of the
 * requests (`record: false`), so its memory stays flat under load.
 *
 * @module
 */

// The module itself, not the testing barrel: that one loads the PostgreSQL, Redis and S3 clients.
import { startFakeOpenAI } from "../lib/testing/fake_openai.ts";

async function main(): Promise<void> {
  const fake = await startFakeOpenAI({ port: 0, chunkDelayMs: 0, record: false });
  Deno.stdout.writeSync(new TextEncoder().encode(`mock upstream listening on ${fake.url}\n`));
  const { promise, resolve } = Promise.withResolvers<void>();
  Deno.addSignalListener("SIGINT", resolve);
  Deno.addSignalListener("SIGTERM", resolve);
  await promise;
  await fake.close();
  Deno.exit(0);
}

if (import.meta.main) main();
