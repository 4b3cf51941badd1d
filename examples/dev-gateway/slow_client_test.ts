/**
 * A client that sends its headers and part of its body, then stalls with the connection open
 * (no authentication needed: the body is read first). The gateway must answer it at
 * `request_timeout_ms` and must still stop promptly on SIGTERM while it is connected.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  faultyLauncher,
  type GatewayProcess,
  startGatewayProcess,
  tempDir,
  writeConfig,
} from "./testdata/harness.ts";

const HEAD = "POST /v1/chat/completions HTTP/1.1\r\nhost: gateway\r\n" +
  "content-type: application/json\r\n";
const PARTIAL = {
  "content-length": `${HEAD}content-length: 100\r\n\r\n{"model":`,
  chunked: `${HEAD}transfer-encoding: chunked\r\n\r\n9\r\n{"model":\r\n`,
};

/** An answer read off a raw connection: status, JSON body, when its head arrived. */
interface RawAnswer {
  status: number;
  body: { error?: { code?: string; type?: string; message?: string } };
  afterMs: number;
}

/** Send a request whose body stops short, keep the connection open, read what comes back. */
async function stalledPost(gateway: GatewayProcess, partial: string) {
  const { hostname, port } = new URL(gateway.url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const sent = performance.now();
  await conn.write(new TextEncoder().encode(partial));
  const answer = readAnswer(conn, sent);
  answer.catch(() => {}); // awaited by the test, or dropped when it failed earlier
  return { conn, answer };
}

async function readAnswer(conn: Deno.Conn, sent: number): Promise<RawAnswer | null> {
  const buffer = new Uint8Array(65_536);
  let text = "";
  while (true) {
    const n = await conn.read(buffer).catch(() => null);
    if (n === null) return null;
    text += new TextDecoder().decode(buffer.subarray(0, n));
    const head = /^HTTP\/1\.1 (\d{3})[^]*?content-length: (\d+)\r\n[^]*?\r\n\r\n/i.exec(text);
    if (head && text.length >= head[0].length + Number(head[2])) {
      return {
        status: Number(head[1]),
        body: JSON.parse(text.slice(head[0].length)),
        afterMs: performance.now() - sent,
      };
    }
  }
}

function within<T>(promise: Promise<T>, ms: number): Promise<T | "late"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => timer = setTimeout(() => resolve("late"), ms));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

function close(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* closed by the server */ }
}

async function startGateway(dir: string, server: Record<string, number>) {
  const file = writeConfig(dir, {
    server,
    plugins: [{
      name: "router",
      source: { type: "filesystem", path: faultyLauncher(dir) },
      capabilities: ["router"],
    }],
  });
  return await startGatewayProcess(file);
}

Deno.test("a client that stalls mid-body gets 408 at request_timeout_ms, with Content-Length or chunked", async () => {
  await using dir = await tempDir();
  const gateway = await startGateway(dir.path, { request_timeout_ms: 1000 });
  const clients = await Promise.all(
    Object.values(PARTIAL).map((partial) => stalledPost(gateway, partial)),
  );
  try {
    for (const [i, framing] of Object.keys(PARTIAL).entries()) {
      const answer = await within(clients[i]!.answer, 4000);
      assert.ok(answer !== "late", `${framing}: no answer 4 s after the 1 s request timeout`);
      assert.ok(answer, `${framing}: the connection closed without an answer`);
      assert.equal(answer.status, 408, `${framing}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.error?.code, "body_timeout");
      assert.match(answer.body.error?.message ?? "", /request_timeout_ms \(1000 ms\)/);
      assert.ok(answer.afterMs >= 900, `${framing}: answered after ${answer.afterMs} ms`);
    }
    const health = await fetch(`${gateway.url}/healthz`);
    assert.equal(health.status, 200, "the gateway still serves");
    await health.body?.cancel();
  } finally {
    for (const { conn } of clients) close(conn);
    const status = await gateway.stop();
    assert.equal(status.code, 0, gateway.stderr().slice(-2000));
  }
});

Deno.test("SIGTERM with a client stalled mid-body: the client gets 503, the gateway exits 0 promptly", async () => {
  await using dir = await tempDir();
  const gateway = await startGateway(dir.path, {
    request_timeout_ms: 60_000,
    shutdown_timeout_ms: 500,
  });
  const { conn, answer } = await stalledPost(gateway, PARTIAL["content-length"]);
  let stopped: Promise<Deno.CommandStatus> | undefined;
  try {
    // The request reaches the handler, which then waits for the rest of the body.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = performance.now();
    stopped = gateway.stop();
    const status = await within(stopped, 10_000);
    const tookMs = performance.now() - started;
    assert.ok(status !== "late", "SIGTERM did not end the gateway within 10 s");
    assert.equal(status.code, 0, gateway.stderr().slice(-2000));
    // shutdown_timeout_ms (500), 1 s for the handlers to answer, then the plugins stop.
    assert.ok(tookMs < 5000, `the gateway took ${tookMs} ms to stop`);
    const got = await within(answer, 1000);
    assert.ok(got && got !== "late", "the stalled client got no answer");
    assert.equal(got.status, 503, JSON.stringify(got.body));
    assert.equal(got.body.error?.code, "gateway_stopping");
    assert.match(gateway.stderr(), /stopped waiting for connections still open/);
  } finally {
    close(conn);
    if (stopped && await within(stopped, 0) === "late") Deno.kill(gateway.pid, "SIGKILL");
    await (stopped ?? gateway.stop());
  }
});
