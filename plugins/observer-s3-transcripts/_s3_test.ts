import assert from "node:assert/strict";
import { configSchema } from "./config.ts";
import { s3Writer } from "./_s3.ts";

/** A TCP server that takes connections and never answers: a stalled object store. */
function silentStore(): { url: string; [Symbol.asyncDispose](): Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })().catch(() => {});
  return {
    url: `http://127.0.0.1:${listener.addr.port}`,
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const conn of held) conn.close();
      await accepting;
    },
  };
}

function writerFor(endpoint: string, timeoutMs: number) {
  return s3Writer(
    configSchema.parse({
      s3: {
        endpoint,
        bucket: "transcripts",
        force_path_style: true,
        access_key_id: "test-id",
        secret_access_key: "test-secret",
        timeout_ms: timeoutMs,
      },
    }).s3,
  );
}

Deno.test("put() gives up on a store that never answers after s3.timeout_ms", async () => {
  await using store = silentStore();
  const writer = writerFor(store.url, 300);
  try {
    const started = performance.now();
    await assert.rejects(
      writer.put("a/b.json.gz", new Uint8Array([1, 2, 3]), new AbortController().signal),
    );
    const tookMs = performance.now() - started;
    assert.ok(tookMs >= 250 && tookMs < 5000, `gave up after ${Math.round(tookMs)} ms`);
  } finally {
    writer.destroy();
  }
});

Deno.test("put() stops when its signal aborts (the plugin stops), long before the timeout", async () => {
  await using store = silentStore();
  const writer = writerFor(store.url, 60_000);
  try {
    const stop = new AbortController();
    const started = performance.now();
    const put = writer.put("a/b.json.gz", new Uint8Array([1]), stop.signal);
    setTimeout(() => stop.abort(new Error("stopping")), 50);
    await assert.rejects(put);
    const tookMs = performance.now() - started;
    assert.ok(tookMs < 5000, `stopped after ${Math.round(tookMs)} ms`);
  } finally {
    writer.destroy();
  }
});
