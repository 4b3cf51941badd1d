import assert from "node:assert/strict";
import { PluginError, RpcError } from "./errors.ts";
import { encodeMessage, type Frame, LineDecoder } from "./framing.ts";
import { CANCEL_METHOD, Peer, type PeerOptions, type RequestHandler } from "./peer.ts";
import {
  createLinkedPair,
  StreamTransport,
  type StreamTransportOptions,
  type Transport,
} from "./transport.ts";

const KINDS = ["a linked pair", "stream transports"] as const;
type Kind = typeof KINDS[number];

interface Pair extends AsyncDisposable {
  client: Peer;
  server: Peer;
}

/** Two started peers over an in-memory pair or over two TransformStreams. */
async function connect(
  kind: Kind,
  serverOptions: PeerOptions = {},
  clientOptions: PeerOptions = {},
): Promise<Pair> {
  let clientEnd: Transport;
  let serverEnd: Transport;
  if (kind === "a linked pair") {
    [clientEnd, serverEnd] = createLinkedPair();
  } else {
    const up = new TransformStream<Uint8Array, Uint8Array>();
    const down = new TransformStream<Uint8Array, Uint8Array>();
    clientEnd = new StreamTransport(down.readable, up.writable);
    serverEnd = new StreamTransport(up.readable, down.writable);
  }
  const server = new Peer(serverEnd, serverOptions);
  const client = new Peer(clientEnd, clientOptions);
  await server.start();
  await client.start();
  return {
    client,
    server,
    async [Symbol.asyncDispose]() {
      await client.close();
      await server.close();
      await server.closed;
    },
  };
}

interface RawSession extends AsyncDisposable {
  peer: Peer;
  /** Write raw bytes or text to the peer's input. */
  write(data: string | Uint8Array): Promise<void>;
  /** Write one message as a line to the peer's input. */
  send(message: unknown): Promise<void>;
  /** The next message the peer wrote. */
  next(): Promise<unknown>;
  /** Close the peer's input (end of file). */
  eof(): Promise<void>;
}

/** A started peer over a StreamTransport whose other end the test drives byte by byte. */
async function openRaw(
  options: PeerOptions = {},
  transportOptions: StreamTransportOptions = {},
): Promise<RawSession> {
  const toPeer = new TransformStream<Uint8Array, Uint8Array>();
  const fromPeer = new TransformStream<Uint8Array, Uint8Array>();
  const peer = new Peer(
    new StreamTransport(toPeer.readable, fromPeer.writable, transportOptions),
    options,
  );
  await peer.start();
  const writer = toPeer.writable.getWriter();
  const reader = fromPeer.readable.getReader();
  const decoder = new LineDecoder();
  const frames: Frame[] = [];
  let ended = false;
  async function eof(): Promise<void> {
    if (ended) return;
    ended = true;
    await writer.close().catch(() => {});
  }
  return {
    peer,
    write(data) {
      return writer.write(typeof data === "string" ? new TextEncoder().encode(data) : data);
    },
    send(message) {
      return writer.write(encodeMessage(message));
    },
    async next() {
      while (frames.length === 0) {
        const { value, done } = await reader.read();
        if (done) throw new Error("The peer closed its output");
        frames.push(...decoder.push(value));
      }
      const frame = frames.shift()!;
      assert.equal(frame.kind, "message", `the peer wrote a bad line: ${JSON.stringify(frame)}`);
      return (frame as { value: unknown }).value;
    },
    eof,
    async [Symbol.asyncDispose]() {
      await reader.cancel().catch(() => {});
      await eof();
      await peer.close();
    },
  };
}

/** Collects unhandled promise rejections instead of letting them end the test module. */
function trapUnhandledRejections(): { reasons: unknown[] } & Disposable {
  const reasons: unknown[] = [];
  function onUnhandled(event: PromiseRejectionEvent): void {
    event.preventDefault();
    reasons.push(event.reason);
  }
  globalThis.addEventListener("unhandledrejection", onUnhandled);
  return {
    reasons,
    [Symbol.dispose]() {
      globalThis.removeEventListener("unhandledrejection", onUnhandled);
    },
  };
}

function tick(ms = 0): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function isPluginError(type: string, data?: Record<string, unknown>) {
  return function check(error: unknown): boolean {
    assert.ok(error instanceof PluginError, `expected a PluginError, received ${error}`);
    assert.equal(error.code, -32000);
    assert.equal(error.type, type);
    if (data) assert.deepEqual(error.data, { type, ...data });
    return true;
  };
}

function isRpcError(code: number, message?: string | RegExp) {
  return function check(error: unknown): boolean {
    assert.ok(error instanceof RpcError, `expected an RpcError, received ${error}`);
    assert.equal(error.code, code);
    if (typeof message === "string") assert.equal(error.message, message);
    else if (message) assert.match(error.message, message);
    return true;
  };
}

/** A handler that answers `echo` at once and lets the test decide when `slow` answers. */
function gatedHandler() {
  const gates = new Map<unknown, PromiseWithResolvers<void>>();
  const signals: AbortSignal[] = [];
  const entered: Array<() => void> = [];
  function gate(key: unknown): PromiseWithResolvers<void> {
    let found = gates.get(key);
    if (!found) gates.set(key, found = Promise.withResolvers<void>());
    return found;
  }
  const handler: RequestHandler = async function gated(params, { method, signal }) {
    if (method !== "slow") return { echo: params ?? null };
    signals.push(signal);
    entered.splice(0).forEach((wake) => wake());
    await gate(params).promise;
    return { slow: params ?? null };
  };
  return {
    handler,
    signals,
    open(key: unknown) {
      gate(key).resolve();
    },
    async waitForSignals(count: number) {
      while (signals.length < count) await new Promise<void>((wake) => entered.push(wake));
    },
  };
}

for (const kind of KINDS) {
  Deno.test(`Peer.request() resolves with the handler's result over ${kind}`, async () => {
    await using pair = await connect(kind, {
      onrequest: (params) => ({ echo: params === undefined ? "no params" : params }),
    });
    assert.deepEqual(await pair.client.request("echo", { x: [1, "two"] }), {
      echo: { x: [1, "two"] },
    });
    assert.deepEqual(await pair.client.request("echo"), { echo: "no params" });
    assert.deepEqual(await pair.client.request("echo", null), { echo: null });
    assert.equal(pair.client.pending, 0);
    assert.equal(pair.server.inFlight, 0);
  });

  Deno.test(`Peer.request() matches concurrent answers given out of order over ${kind}`, async () => {
    const gated = gatedHandler();
    await using pair = await connect(kind, { onrequest: gated.handler });
    const settled: number[] = [];
    const calls = [0, 1, 2, 3, 4].map((n) =>
      pair.client.request("slow", n).then((result) => {
        settled.push(n);
        return result;
      })
    );
    await gated.waitForSignals(5);
    assert.equal(pair.server.inFlight, 5);
    for (const n of [3, 0, 4, 2, 1]) {
      gated.open(n);
      assert.deepEqual(await calls[n], { slow: n });
    }
    assert.deepEqual(settled, [3, 0, 4, 2, 1]);
  });

  Deno.test(`Peer.request() runs requests in both directions at once over ${kind}`, async () => {
    await using pair = await connect(
      kind,
      { onrequest: (params) => ({ from: "server", params }) },
      { onrequest: (params) => ({ from: "client", params }) },
    );
    const [toServer, toClient] = await Promise.all([
      pair.client.request("a", 1),
      pair.server.request("b", 2),
    ]);
    assert.deepEqual(toServer, { from: "server", params: 1 });
    assert.deepEqual(toClient, { from: "client", params: 2 });
  });

  Deno.test(`Peer.request() revives a thrown PluginError as a PluginError over ${kind}`, async () => {
    await using pair = await connect(kind, {
      onrequest: () => {
        throw new PluginError("rate_limited", 'Rate limit "per-minute" reached', {
          retry_after_ms: 1200,
        });
      },
    });
    await assert.rejects(pair.client.request("ratelimit.check"), (error) => {
      isPluginError("rate_limited", { retry_after_ms: 1200 })(error);
      assert.equal((error as Error).message, 'Rate limit "per-minute" reached');
      return true;
    });
  });

  Deno.test(`Peer.request() rejects with -32603 when the handler fails unexpectedly over ${kind}`, async () => {
    await using pair = await connect(kind, {
      onrequest: async (_params, { method }) => {
        await tick();
        if (method === "string") throw "plain text";
        throw new TypeError("boom");
      },
    });
    await assert.rejects(
      pair.client.request("auth.check"),
      (error) => {
        assert.ok(!(error instanceof PluginError));
        return isRpcError(-32603, 'Internal error while handling "auth.check": boom')(error);
      },
    );
    await assert.rejects(
      pair.client.request("string"),
      isRpcError(-32603, 'Internal error while handling "string": plain text'),
    );
  });

  Deno.test(`Peer.request() rejects with -32601 when the other side has no handler over ${kind}`, async () => {
    await using pair = await connect(kind);
    await assert.rejects(
      pair.client.request("cache.get", {}),
      isRpcError(-32601, 'Method "cache.get" not found'),
    );
  });

  Deno.test(`Peer.request() rejects with -32800 when the request is cancelled over ${kind}`, async () => {
    const gated = gatedHandler();
    await using pair = await connect(kind, { onrequest: gated.handler });
    let id: unknown;
    const call = pair.client.request("slow", "x", { onId: (sent) => (id = sent) });
    await gated.waitForSignals(1);
    pair.client.notify(CANCEL_METHOD, { id });
    await assert.rejects(call, isRpcError(-32800, "Request cancelled"));
    assert.equal(gated.signals[0]!.aborted, true);
    assert.equal(pair.server.inFlight, 0);
    gated.open("x");
    await tick();
    assert.deepEqual(await pair.client.request("echo", 1), { echo: 1 });
  });

  Deno.test(`Peer.request() sends $/cancel and rejects with the signal's reason over ${kind}`, async () => {
    const gated = gatedHandler();
    await using pair = await connect(kind, { onrequest: gated.handler });
    const controller = new AbortController();
    const reason = new Error("The client went away");
    const call = pair.client.request("slow", "y", { signal: controller.signal });
    await gated.waitForSignals(1);
    controller.abort(reason);
    await assert.rejects(call, (error) => error === reason);
    assert.equal(pair.client.pending, 0);
    while (pair.server.inFlight > 0) await tick();
    assert.equal(gated.signals[0]!.aborted, true);
    gated.open("y");
  });

  Deno.test(`Peer.close() rejects every pending request and aborts handlers over ${kind}`, async () => {
    const gated = gatedHandler();
    await using pair = await connect(kind, { onrequest: gated.handler });
    const calls = [1, 2, 3].map((n) => pair.client.request("slow", n));
    await gated.waitForSignals(3);
    await pair.client.close();
    for (const call of calls) {
      await assert.rejects(call, (error) => {
        isPluginError("unavailable", { reason: "closed" })(error);
        assert.match((error as Error).message, /closed before "slow" was answered/);
        return true;
      });
    }
    await pair.server.closed;
    assert.equal(pair.client.isClosed, true);
    assert.equal(pair.server.isClosed, true);
    assert.equal(pair.client.pending, 0);
    // The server's input ended; its handlers run on until it closes too.
    assert.equal(pair.server.inFlight, 3);
    assert.deepEqual(gated.signals.map((signal) => signal.aborted), [false, false, false]);
    await pair.server.close();
    assert.equal(pair.server.inFlight, 0);
    assert.deepEqual(gated.signals.map((signal) => signal.aborted), [true, true, true]);
    [1, 2, 3].forEach((n) => gated.open(n));
  });

  Deno.test(`Peer.close() on the answering side rejects the caller's requests over ${kind}`, async () => {
    const gated = gatedHandler();
    await using pair = await connect(kind, { onrequest: gated.handler });
    const call = pair.client.request("slow", 1);
    await gated.waitForSignals(1);
    await pair.server.close();
    await assert.rejects(call, isPluginError("unavailable", { reason: "closed" }));
    await pair.client.closed;
    gated.open(1);
  });

  Deno.test(`Peer.request() rejects at once after the connection closed over ${kind}`, async () => {
    await using pair = await connect(kind, { onrequest: () => "ok" });
    await pair.client.close();
    await assert.rejects(pair.client.request("health"), (error) => {
      isPluginError("unavailable", { reason: "closed" })(error);
      assert.equal((error as Error).message, 'Cannot call "health": the connection is closed');
      return true;
    });
    pair.client.notify("observer.emit", {});
  });

  Deno.test(`Peer.notify() delivers a notification without an answer over ${kind}`, async () => {
    const received = Promise.withResolvers<[string, unknown]>();
    await using pair = await connect(kind, {
      onnotification: (method, params) => received.resolve([method, params]),
      onrequest: () => "ok",
    });
    pair.client.notify("observer.emit", { event: "done" });
    assert.deepEqual(await received.promise, ["observer.emit", { event: "done" }]);
  });
}

Deno.test("Peer.request() matches answers by id when the other side answers out of order", async () => {
  await using raw = await openRaw();
  const calls = ["a", "b", "c"].map((params) => raw.peer.request("lookup", params));
  const requests = [await raw.next(), await raw.next(), await raw.next()] as Array<
    { id: number; method: string; params: string; jsonrpc: string }
  >;
  assert.deepEqual(requests.map((request) => request.params), ["a", "b", "c"]);
  assert.equal(new Set(requests.map((request) => request.id)).size, 3);
  for (const request of requests) {
    assert.equal(request.jsonrpc, "2.0");
    assert.equal(request.method, "lookup");
  }
  for (const index of [2, 0, 1]) {
    const request = requests[index]!;
    await raw.send({ jsonrpc: "2.0", id: request.id, result: `answer to ${request.params}` });
  }
  assert.deepEqual(await Promise.all(calls), ["answer to a", "answer to b", "answer to c"]);
});

Deno.test("Peer answers concurrent requests by id, string ids included", async () => {
  const gated = gatedHandler();
  await using raw = await openRaw({ onrequest: gated.handler });
  await raw.send({ jsonrpc: "2.0", id: "first", method: "slow", params: 1 });
  await raw.send({ jsonrpc: "2.0", id: 2, method: "slow", params: 2 });
  await raw.send({ jsonrpc: "2.0", id: "x-3", method: "echo", params: 3 });
  assert.deepEqual(await raw.next(), { jsonrpc: "2.0", id: "x-3", result: { echo: 3 } });
  gated.open(2);
  assert.deepEqual(await raw.next(), { jsonrpc: "2.0", id: 2, result: { slow: 2 } });
  gated.open(1);
  assert.deepEqual(await raw.next(), { jsonrpc: "2.0", id: "first", result: { slow: 1 } });
});

Deno.test("Peer answers null when the handler returns nothing", async () => {
  await using raw = await openRaw({ onrequest: () => undefined });
  await raw.send({ jsonrpc: "2.0", id: 1, method: "shutdown" });
  assert.deepEqual(await raw.next(), { jsonrpc: "2.0", id: 1, result: null });
});

Deno.test("Peer sends a thrown PluginError as code -32000 with data.type", async () => {
  await using raw = await openRaw({
    onrequest: () => {
      throw new PluginError("upstream_timeout", 'Upstream "openai" did not answer in 30000 ms', {
        status: 504,
      });
    },
  });
  await raw.send({ jsonrpc: "2.0", id: 7, method: "upstream.complete", params: {} });
  assert.deepEqual(await raw.next(), {
    jsonrpc: "2.0",
    id: 7,
    error: {
      code: -32000,
      message: 'Upstream "openai" did not answer in 30000 ms',
      data: { type: "upstream_timeout", status: 504 },
    },
  });
});

Deno.test("Peer sends a thrown RpcError with its own code and data", async () => {
  await using raw = await openRaw({
    onrequest: () => {
      throw new RpcError(-32602, 'Invalid params: "model" is required', { path: "model" });
    },
  });
  await raw.send({ jsonrpc: "2.0", id: 1, method: "router.route", params: {} });
  assert.deepEqual(await raw.next(), {
    jsonrpc: "2.0",
    id: 1,
    error: {
      code: -32602,
      message: 'Invalid params: "model" is required',
      data: { path: "model" },
    },
  });
});

Deno.test("Peer sends -32603 without data for an unexpected error", async () => {
  await using raw = await openRaw({
    onrequest: () => Promise.reject(new Error("database is down")),
  });
  await raw.send({ jsonrpc: "2.0", id: 3, method: "cache.get" });
  assert.deepEqual(await raw.next(), {
    jsonrpc: "2.0",
    id: 3,
    error: { code: -32603, message: 'Internal error while handling "cache.get": database is down' },
  });
});

Deno.test("Peer sends -32601 for every request when it has no request handler", async () => {
  await using raw = await openRaw();
  await raw.send({ jsonrpc: "2.0", id: "q", method: "health" });
  assert.deepEqual(await raw.next(), {
    jsonrpc: "2.0",
    id: "q",
    error: { code: -32601, message: 'Method "health" not found' },
  });
});

Deno.test("Peer aborts the handler on $/cancel, answers -32800 and drops the late result", async () => {
  const gated = gatedHandler();
  await using raw = await openRaw({ onrequest: gated.handler });
  await raw.send({ jsonrpc: "2.0", id: 1, method: "slow", params: "late" });
  await gated.waitForSignals(1);
  const signal = gated.signals[0]!;
  assert.equal(signal.aborted, false);
  await raw.send({ jsonrpc: "2.0", method: "$/cancel", params: { id: 1 } });
  assert.deepEqual(await raw.next(), {
    jsonrpc: "2.0",
    id: 1,
    error: { code: -32800, message: "Request cancelled" },
  });
  assert.equal(signal.aborted, true);
  assert.ok(signal.reason instanceof RpcError);
  assert.equal(signal.reason.code, -32800);
  assert.equal(raw.peer.inFlight, 0);
  gated.open("late");
  await tick();
  await raw.send({ jsonrpc: "2.0", id: 2, method: "echo", params: "after" });
  assert.deepEqual(await raw.next(), { jsonrpc: "2.0", id: 2, result: { echo: "after" } });
});

Deno.test("Peer ignores $/cancel for an unknown id or without a usable id", async () => {
  const notifications: string[] = [];
  await using raw = await openRaw({
    onrequest: (params) => params,
    onnotification: (method) => notifications.push(method),
  });
  for (const params of [{ id: 99 }, null, "x", { id: { n: 1 } }, [1], undefined]) {
    await raw.send({ jsonrpc: "2.0", method: "$/cancel", params });
  }
  await raw.send({ jsonrpc: "2.0", id: 1, method: "echo", params: "still here" });
  assert.deepEqual(await raw.next(), { jsonrpc: "2.0", id: 1, result: "still here" });
  assert.deepEqual(notifications, []);
});

Deno.test("Peer.request() sends $/cancel for the request when its signal aborts", async () => {
  const warnings: string[] = [];
  await using raw = await openRaw({ onwarning: (message) => warnings.push(message) });
  const controller = new AbortController();
  const call = raw.peer.request("slow", { n: 1 }, { signal: controller.signal });
  const request = await raw.next() as { id: number };
  controller.abort("user pressed stop");
  await assert.rejects(call, (error) => error === "user pressed stop");
  assert.deepEqual(await raw.next(), {
    jsonrpc: "2.0",
    method: "$/cancel",
    params: { id: request.id },
  });
  // The late answer to the cancelled request is expected: dropped without a warning. An answer
  // to an id never sent still warns (sent after it, so its warning shows the first was silent).
  await raw.send({ jsonrpc: "2.0", id: request.id, result: "too late" });
  await raw.send({ jsonrpc: "2.0", id: 999, result: "unknown" });
  while (warnings.length === 0) await tick();
  assert.deepEqual(warnings, ["Dropped a response to unknown request id 999"]);
});

Deno.test("Peer drops the late answer to a timed-out request without a warning", async () => {
  const warnings: string[] = [];
  await using raw = await openRaw({ onwarning: (message) => warnings.push(message) });
  const call = raw.peer.request("slow", {}, { timeoutMs: 10 });
  const request = await raw.next() as { id: number };
  await assert.rejects(call, isPluginError("unavailable", { reason: "timeout" }));
  await raw.next(); // its $/cancel
  await raw.send({ jsonrpc: "2.0", id: request.id, error: { code: -32000, message: "late" } });
  await raw.send({ jsonrpc: "2.0", id: 999, result: "unknown" });
  while (warnings.length === 0) await tick();
  assert.deepEqual(warnings, ["Dropped a response to unknown request id 999"]);
});

Deno.test("Peer.request() rejects at once and sends nothing when the signal is already aborted", async () => {
  await using raw = await openRaw();
  const reason = new DOMException("stop", "AbortError");
  await assert.rejects(
    raw.peer.request("never", {}, { signal: AbortSignal.abort(reason) }),
    (error) => error === reason,
  );
  const call = raw.peer.request("second");
  const sent = await raw.next() as { id: number; method: string };
  assert.equal(sent.method, "second");
  await raw.send({ jsonrpc: "2.0", id: sent.id, result: 2 });
  assert.equal(await call, 2);
});

Deno.test("Peer.request() leaves the signal alone once answered", async () => {
  await using raw = await openRaw();
  const controller = new AbortController();
  const call = raw.peer.request("quick", undefined, { signal: controller.signal });
  const request = await raw.next() as { id: number };
  await raw.send({ jsonrpc: "2.0", id: request.id, result: "done" });
  assert.equal(await call, "done");
  controller.abort();
  const next = raw.peer.request("next");
  assert.equal((await raw.next() as { method: string }).method, "next");
  await raw.peer.close();
  await assert.rejects(next, PluginError);
});

Deno.test("Peer.request() rejects with an unavailable timeout error and sends $/cancel", async () => {
  await using raw = await openRaw();
  const started = performance.now();
  const call = raw.peer.request("slow.method", {}, { timeoutMs: 30 });
  const request = await raw.next() as { id: number };
  await assert.rejects(call, (error) => {
    isPluginError("unavailable", { reason: "timeout" })(error);
    assert.equal((error as Error).message, 'No answer to "slow.method" within 30 ms');
    return true;
  });
  assert.ok(performance.now() - started >= 25);
  assert.deepEqual(await raw.next(), {
    jsonrpc: "2.0",
    method: "$/cancel",
    params: { id: request.id },
  });
  assert.equal(raw.peer.pending, 0);
});

Deno.test("Peer.request() times out each request at its own deadline, a short one after a long one", async () => {
  await using raw = await openRaw();
  const order: string[] = [];
  const long = raw.peer.request("long", {}, { timeoutMs: 400 }).catch(() => order.push("long"));
  const answered = raw.peer.request("answered", {}, { timeoutMs: 20 });
  const short = raw.peer.request("short", {}, { timeoutMs: 40 }).catch(() => order.push("short"));
  const requests = [await raw.next(), await raw.next(), await raw.next()] as { id: number }[];
  await raw.send({ jsonrpc: "2.0", id: requests[1]!.id, result: 1 });
  assert.equal(await answered, 1);
  await short;
  assert.deepEqual(order, ["short"]);
  assert.equal(raw.peer.pending, 1);
  await long;
  assert.deepEqual(order, ["short", "long"]);
  assert.equal(raw.peer.pending, 0);
});

Deno.test("Peer.request() clears its timeout when answered in time", async () => {
  await using raw = await openRaw();
  const call = raw.peer.request("quick", undefined, { timeoutMs: 60_000 });
  const request = await raw.next() as { id: number };
  await raw.send({ jsonrpc: "2.0", id: request.id, result: { ok: true } });
  assert.deepEqual(await call, { ok: true });
});

Deno.test("Peer rejects pending requests when its input ends, and still answers what is in flight", async () => {
  const gated = gatedHandler();
  await using raw = await openRaw({ onrequest: gated.handler });
  await raw.send({ jsonrpc: "2.0", id: 1, method: "slow", params: 1 });
  await gated.waitForSignals(1);
  const call = raw.peer.request("health", undefined, { timeoutMs: 60_000 });
  await raw.next();
  await raw.eof();
  await raw.peer.closed;
  await assert.rejects(call, isPluginError("unavailable", { reason: "closed" }));
  assert.equal(gated.signals[0]!.aborted, false);
  assert.equal(raw.peer.inFlight, 1);
  gated.open(1);
  assert.deepEqual(await raw.next(), { jsonrpc: "2.0", id: 1, result: { slow: 1 } });
  assert.equal(await raw.peer.drain(1000), true);
});

Deno.test("Peer answers a line that is not JSON with a parse error whose id is null", async () => {
  await using raw = await openRaw({ onrequest: (params) => params });
  await raw.write('{"jsonrpc":"2.0","id":1,"method":\n');
  const reply = await raw.next() as { id: unknown; error: { code: number; message: string } };
  assert.equal(reply.id, null);
  assert.equal(reply.error.code, -32700);
  assert.match(reply.error.message, /^Parse error: the line is not valid JSON: /);
  await raw.write(Uint8Array.of(0x7b, 0xff, 0x7d, 0x0a));
  assert.deepEqual(await raw.next(), {
    jsonrpc: "2.0",
    id: null,
    error: { code: -32700, message: "Parse error: the line is not valid UTF-8" },
  });
  await raw.send({ jsonrpc: "2.0", id: 2, method: "echo", params: "fine" });
  assert.deepEqual(await raw.next(), { jsonrpc: "2.0", id: 2, result: "fine" });
});

Deno.test("Peer answers an invalid message with -32600 and the id it could read", async () => {
  await using raw = await openRaw({ onrequest: () => "ok" });
  await raw.send({ jsonrpc: "1.0", id: 5, method: "health" });
  assert.deepEqual(await raw.next(), {
    jsonrpc: "2.0",
    id: 5,
    error: { code: -32600, message: 'Invalid request: expected "jsonrpc": "2.0"' },
  });
  await raw.send([{ jsonrpc: "2.0", id: 6, method: "health" }]);
  const batch = await raw.next() as { id: unknown; error: { code: number; message: string } };
  assert.equal(batch.id, null);
  assert.equal(batch.error.code, -32600);
  assert.match(batch.error.message, /batches are not supported/);
  await raw.send({ jsonrpc: "2.0", id: 1.5, method: "health" });
  assert.deepEqual(await raw.next(), {
    jsonrpc: "2.0",
    id: null,
    error: {
      code: -32600,
      message: 'Invalid request: expected "id" to be a string or an integer',
    },
  });
});

Deno.test("Peer answers an oversized line that has an id with -32600 and that id", async () => {
  await using raw = await openRaw({ onrequest: (params) => params }, { maxLineBytes: 64 });
  const line = JSON.stringify({ jsonrpc: "2.0", id: 41, method: "echo", params: "z".repeat(200) });
  await raw.write(line + "\n");
  assert.deepEqual(await raw.next(), {
    jsonrpc: "2.0",
    id: 41,
    error: {
      code: -32600,
      message: `Message too large: ${line.length} bytes, the limit is 64 bytes a line`,
    },
  });
  await raw.send({ jsonrpc: "2.0", id: 42, method: "echo", params: "small" });
  assert.deepEqual(await raw.next(), { jsonrpc: "2.0", id: 42, result: "small" });
});

Deno.test("Peer drops an oversized line without an id and reports it through onwarning", async () => {
  const warnings: string[] = [];
  await using raw = await openRaw({
    onrequest: (params) => params,
    onwarning: (message) => warnings.push(message),
  }, { maxLineBytes: 64 });
  const line = JSON.stringify({ jsonrpc: "2.0", method: "observer.emit", params: "w".repeat(300) });
  await raw.write(line + "\n");
  await raw.send({ jsonrpc: "2.0", id: 1, method: "echo", params: "next" });
  assert.deepEqual(await raw.next(), { jsonrpc: "2.0", id: 1, result: "next" });
  assert.deepEqual(warnings, [
    `Message too large: ${line.length} bytes, the limit is 64 bytes a line; ` +
    "dropped it (no request id found)",
  ]);
});

Deno.test("Peer answers a duplicate id in flight with -32600 and still answers the first", async () => {
  const gated = gatedHandler();
  await using raw = await openRaw({ onrequest: gated.handler });
  await raw.send({ jsonrpc: "2.0", id: 1, method: "slow", params: "one" });
  await gated.waitForSignals(1);
  await raw.send({ jsonrpc: "2.0", id: 1, method: "slow", params: "two" });
  assert.deepEqual(await raw.next(), {
    jsonrpc: "2.0",
    id: 1,
    error: { code: -32600, message: "Invalid request: id 1 is already in flight" },
  });
  assert.equal(gated.signals.length, 1);
  gated.open("one");
  assert.deepEqual(await raw.next(), { jsonrpc: "2.0", id: 1, result: { slow: "one" } });
  await raw.send({ jsonrpc: "2.0", id: 1, method: "echo", params: "reused" });
  assert.deepEqual(await raw.next(), { jsonrpc: "2.0", id: 1, result: { echo: "reused" } });
});

Deno.test("Peer reports a response to an unknown id through onwarning and sends nothing", async () => {
  const warnings: string[] = [];
  await using raw = await openRaw({
    onrequest: (params) => params,
    onwarning: (message) => warnings.push(message),
  });
  await raw.send({ jsonrpc: "2.0", id: 99, result: "stray" });
  await raw.send({ jsonrpc: "2.0", id: "nope", error: { code: -32000, message: "Stray failure" } });
  await raw.send({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } });
  await raw.send({ jsonrpc: "2.0", id: 1, method: "echo", params: "ok" });
  assert.deepEqual(await raw.next(), { jsonrpc: "2.0", id: 1, result: "ok" });
  assert.deepEqual(warnings, [
    "Dropped a response to unknown request id 99",
    "The other side reported an error: -32000 Stray failure",
    "The other side reported an error: -32700 Parse error",
  ]);
});

Deno.test("Peer reports a failing notification handler through onwarning and keeps going", async () => {
  const warnings: string[] = [];
  await using raw = await openRaw({
    onrequest: (params) => params,
    onnotification: () => {
      throw new Error("observer is full");
    },
    onwarning: (message) => warnings.push(message),
  });
  await raw.send({ jsonrpc: "2.0", method: "observer.emit", params: {} });
  await raw.send({ jsonrpc: "2.0", id: 1, method: "echo", params: "alive" });
  assert.deepEqual(await raw.next(), { jsonrpc: "2.0", id: 1, result: "alive" });
  assert.deepEqual(warnings, ['Notification handler for "observer.emit" failed: observer is full']);
});

Deno.test("Peer removes a secret from outgoing error messages with the redact option", async () => {
  const secret = "sk-live-0123456789";
  const warnings: string[] = [];
  await using raw = await openRaw({
    redact: (text) => text.replaceAll(secret, "[redacted]"),
    onwarning: (message) => warnings.push(message),
    onrequest: (_params, { method }) => {
      if (method === "plugin") throw new PluginError("unauthorized", `Key ${secret} is revoked`);
      throw new Error(`cannot connect with password ${secret}`);
    },
  });
  await raw.send({ jsonrpc: "2.0", id: 1, method: "plugin" });
  await raw.send({ jsonrpc: "2.0", id: 2, method: "internal" });
  await raw.write(`${secret}\n`);
  await raw.send({ jsonrpc: "2.0", id: null, error: { code: 1, message: `echo ${secret}` } });
  const replies = [await raw.next(), await raw.next(), await raw.next()];
  assert.deepEqual(replies.slice(0, 2), [
    {
      jsonrpc: "2.0",
      id: 1,
      error: {
        code: -32000,
        message: "Key [redacted] is revoked",
        data: { type: "unauthorized" },
      },
    },
    {
      jsonrpc: "2.0",
      id: 2,
      error: {
        code: -32603,
        message:
          'Internal error while handling "internal": cannot connect with password [redacted]',
      },
    },
  ]);
  assert.equal((replies[2] as { error: { code: number } }).error.code, -32700);
  for (const reply of replies) assert.ok(!JSON.stringify(reply).includes(secret));
  await raw.send({ jsonrpc: "2.0", id: 3, method: "internal" });
  await raw.next();
  assert.deepEqual(warnings, ["The other side reported an error: 1 echo [redacted]"]);
});

Deno.test("Peer answers -32603 when a handler's result cannot be serialized", async () => {
  using trap = trapUnhandledRejections();
  await using pair = await connect("stream transports", {
    onrequest: (_params, { method }) => method === "bigint" ? { n: 1n } : "fine",
  });
  await assert.rejects(
    pair.client.request("bigint", undefined, { timeoutMs: 500 }),
    isRpcError(-32603, /^Internal error while handling "bigint": /),
  );
  assert.equal(await pair.client.request("other"), "fine");
  assert.deepEqual(trap.reasons, []);
});

Deno.test("Peer.request() rejects and forgets a request whose params cannot be serialized", async () => {
  await using pair = await connect("stream transports", { onrequest: () => "fine" });
  await assert.rejects(pair.client.request("bigint", { n: 1n }), TypeError);
  assert.equal(pair.client.pending, 0);
  assert.equal(await pair.client.request("other"), "fine");
});

Deno.test("Peer.request() fails at once when the answer is larger than the line limit", async () => {
  const pipe = new TransformStream<Uint8Array, Uint8Array>();
  const back = new TransformStream<Uint8Array, Uint8Array>();
  const client = new Peer(
    new StreamTransport(back.readable, pipe.writable, { maxLineBytes: 1024 }),
  );
  const server = new Peer(new StreamTransport(pipe.readable, back.writable), {
    onrequest: () => ({ text: "z".repeat(10_000) }),
  });
  await client.start();
  await server.start();
  const started = Date.now();
  await assert.rejects(
    client.request("big", undefined, { timeoutMs: 30_000 }),
    (error) => {
      isPluginError("unavailable", { reason: "too_large" })(error);
      assert.match((error as Error).message, /^The answer to "big" was too large: /);
      return true;
    },
  );
  assert.ok(Date.now() - started < 5000);
  await client.close();
  await server.close();
});

Deno.test("Peer.close() with an aborted signal rejects requests stuck behind a write nobody reads", async () => {
  // The other side reads nothing: the write never finishes.
  const stuck = new WritableStream<Uint8Array>({ write: () => new Promise(() => {}) });
  const peer = new Peer(new StreamTransport(new ReadableStream(), stuck));
  await peer.start();
  const call = peer.request("health", undefined, { timeoutMs: 60_000 });
  await new Promise((resolve) => setTimeout(resolve, 10));
  await peer.close({ signal: AbortSignal.abort() });
  await assert.rejects(call, isPluginError("unavailable", { reason: "closed" }));
  assert.equal(peer.isClosed, true);
});

Deno.test("Peer reports a run of notifications it cannot send once, every 1000, and when it ends", async () => {
  let refusing = true;
  const transport: Transport = {
    start: () => Promise.resolve(),
    send: () =>
      refusing
        ? Promise.reject(new Error("64 MiB wait to be written: the peer is not reading"))
        : Promise.resolve(),
    close: () => Promise.resolve(),
  };
  const warnings: string[] = [];
  const peer = new Peer(transport, { onwarning: (message) => warnings.push(message) });
  await peer.start();
  for (let i = 0; i < 2500; i++) peer.notify("observer.emit", { events: [] });
  peer.notify("other.method");
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(warnings, [
    'Cannot send notification "observer.emit": 64 MiB wait to be written: the peer is not reading',
    'Cannot send notification "observer.emit": 64 MiB wait to be written: the peer is not reading (1000 in a row)',
    'Cannot send notification "observer.emit": 64 MiB wait to be written: the peer is not reading (2000 in a row)',
    'Cannot send notification "other.method": 64 MiB wait to be written: the peer is not reading',
  ]);
  refusing = false;
  peer.notify("observer.emit", { events: [] });
  peer.notify("observer.emit", { events: [] });
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(warnings.length, 5);
  assert.equal(
    warnings[4],
    'Sent notification "observer.emit" again, after 2500 could not be sent',
  );
});
