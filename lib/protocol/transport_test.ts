import assert from "node:assert/strict";
import { PluginError } from "./errors.ts";
import { type ByteReader, type ByteWriter, StreamTransport } from "./transport.ts";

const encoder = new TextEncoder();

/** A writer that takes at most `step` bytes a call and keeps a copy of everything. */
function chunkyWriter(step: number): ByteWriter & { text(): string; writes: number } {
  const parts: Uint8Array[] = [];
  return {
    writes: 0,
    write(bytes) {
      this.writes++;
      const taken = bytes.slice(0, step);
      parts.push(taken);
      return Promise.resolve(taken.length);
    },
    text: () => new TextDecoder().decode(new Uint8Array(parts.flatMap((part) => [...part]))),
  };
}

/** A reader that hands out `input` a few bytes at a time, then the end. */
function chunkyReader(input: string, step: number): ByteReader {
  const bytes = encoder.encode(input);
  let offset = 0;
  return {
    read(buffer) {
      if (offset >= bytes.length) return Promise.resolve(null);
      const part = bytes.subarray(offset, offset + Math.min(step, buffer.length));
      buffer.set(part);
      offset += part.length;
      return Promise.resolve(part.length);
    },
  };
}

Deno.test("StreamTransport writes every message whole and in order through partial writes", async () => {
  const writer = chunkyWriter(7);
  const transport = new StreamTransport(chunkyReader("", 1), writer);
  await transport.start();
  const sent = Array.from({ length: 50 }, (_, i) => ({ i, text: "é✓".repeat(i) }));
  await Promise.all(sent.map((message) => transport.send(message)));
  await transport.close();
  const lines = writer.text().split("\n");
  assert.equal(lines.pop(), "");
  assert.deepEqual(lines.map((line) => JSON.parse(line)), sent);
});

Deno.test("StreamTransport writes messages sent together in one batch, not one write each", async () => {
  const writer = chunkyWriter(1 << 20);
  const transport = new StreamTransport(chunkyReader("", 1), writer);
  await transport.start();
  await Promise.all(Array.from({ length: 100 }, (_, i) => transport.send({ i })));
  assert.equal(writer.writes, 1);
  await transport.close();
});

Deno.test("StreamTransport reads messages from a ByteReader that splits lines anywhere", async () => {
  const messages = Array.from({ length: 20 }, (_, i) => ({ id: i, text: "ü".repeat(i * 3) }));
  const input = messages.map((message) => JSON.stringify(message) + "\n").join("");
  const transport = new StreamTransport(chunkyReader(input, 5), chunkyWriter(1 << 20));
  const received: unknown[] = [];
  transport.onmessage = (message) => received.push(message);
  const closed = new Promise<void>((resolve) => (transport.onclose = resolve));
  await transport.start();
  await closed;
  assert.deepEqual(received, messages);
});

Deno.test("StreamTransport reads an async iterable of chunks and ends it on close", async () => {
  let ended = false;
  const chunks = {
    [Symbol.asyncIterator]: () => {
      let sent = false;
      return {
        next: async (): Promise<IteratorResult<Uint8Array>> => {
          if (!sent) {
            sent = true;
            return { value: encoder.encode('{"a":1}\n{"b":'), done: false };
          }
          await new Promise(() => {}); // waits for more input that never comes
          throw new Error("unreachable");
        },
        return: (): Promise<IteratorResult<Uint8Array>> => {
          ended = true;
          return Promise.resolve({ value: undefined, done: true });
        },
      };
    },
  };
  const transport = new StreamTransport(chunks, chunkyWriter(1 << 20));
  const received = new Promise((resolve) => (transport.onmessage = resolve));
  await transport.start();
  assert.deepEqual(await received, { a: 1 });
  await transport.close();
  assert.equal(ended, true);
});

Deno.test("StreamTransport reports a line of invalid UTF-8 and still reads a real U+FFFD", async () => {
  const bad = new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d, 0x0a]);
  const good = encoder.encode('{"a":"\uFFFD"}\n');
  const bytes = new Uint8Array([...good, ...bad, ...good]);
  let read = false;
  const reader: ByteReader = {
    read(buffer) {
      if (read) return Promise.resolve(null);
      read = true;
      buffer.set(bytes);
      return Promise.resolve(bytes.length);
    },
  };
  const transport = new StreamTransport(reader, chunkyWriter(1 << 20));
  const events: unknown[] = [];
  transport.onmessage = (message) => events.push(message);
  transport.onproblem = (problem) => events.push(problem.kind);
  const closed = new Promise<void>((resolve) => (transport.onclose = resolve));
  await transport.start();
  await closed;
  assert.deepEqual(events, [{ a: "\uFFFD" }, "parse_error", { a: "\uFFFD" }]);
});

Deno.test("StreamTransport.send() throws a TypeError at once for a value with no JSON form", () => {
  const transport = new StreamTransport(chunkyReader("", 1), chunkyWriter(1));
  assert.throws(() => transport.send({ n: 1n }), TypeError);
  assert.throws(() => transport.send(undefined), TypeError);
});

Deno.test("StreamTransport sends a deferred message with the next urgent one, in one write", async () => {
  const writer = chunkyWriter(1 << 20);
  const transport = new StreamTransport(chunkyReader("", 1), writer);
  await transport.start();
  const deferred = transport.send({ n: 1 }, { defer: true });
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(writer.writes, 0);
  await Promise.all([transport.send({ n: 2 }), deferred]);
  assert.equal(writer.writes, 1);
  assert.equal(writer.text(), '{"n":1}\n{"n":2}\n');
  await transport.close();
});

Deno.test("StreamTransport sends a deferred message alone after a few milliseconds", async () => {
  const writer = chunkyWriter(1 << 20);
  const transport = new StreamTransport(chunkyReader("", 1), writer);
  await transport.start();
  await transport.send({ n: 1 }, { defer: true });
  assert.equal(writer.text(), '{"n":1}\n');
  await transport.close();
});

Deno.test("StreamTransport.close() writes deferred messages before it closes", async () => {
  const writer = chunkyWriter(1 << 20);
  const transport = new StreamTransport(chunkyReader("", 1), writer);
  await transport.start();
  const sent = transport.send({ n: 1 }, { defer: true });
  await transport.close();
  await sent;
  assert.equal(writer.text(), '{"n":1}\n');
});

/** A writer whose writes never finish, as a pipe nobody reads; it records what it is told. */
function stuckWriter(): ByteWriter & { writes: number; closed: number; aborted: unknown[] } {
  return {
    writes: 0,
    closed: 0,
    aborted: [],
    write() {
      this.writes++;
      return new Promise<number>(() => {});
    },
    close() {
      this.closed++;
      return Promise.resolve();
    },
    abort(reason) {
      this.aborted.push(reason);
      return Promise.resolve();
    },
  };
}

Deno.test("StreamTransport refuses to queue past maxPendingBytes for a peer that stopped reading", async () => {
  const writer = stuckWriter();
  const transport = new StreamTransport(chunkyReader("", 1), writer, { maxPendingBytes: 1000 });
  await transport.start();
  const first = transport.send({ n: 0 }); // taken by the write that never ends
  first.catch(() => {});
  await new Promise((resolve) => setTimeout(resolve, 0));
  const fill = "x".repeat(90);
  const queued = Array.from({ length: 10 }, (_, i) => transport.send({ i, fill }));
  for (const sent of queued) sent.catch(() => {});
  const refused = await transport.send({ i: 10, fill }).catch((error) => error);
  assert.ok(refused instanceof PluginError && refused.type === "unavailable", String(refused));
  assert.equal(refused.data.reason, "backlog");
  assert.match(refused.message, /maxPendingBytes.*not reading/);
  // One message larger than the cap still goes when nothing waits.
  const lone = new StreamTransport(chunkyReader("", 1), chunkyWriter(1 << 20));
  await lone.start();
  await lone.send({ big: "y".repeat(5000) });
  await transport.close({ signal: AbortSignal.abort() });
  await lone.close();
});

Deno.test("StreamTransport.close() waits for a stuck write until its signal aborts, then drops what is unwritten", async () => {
  const writer = stuckWriter();
  const transport = new StreamTransport(chunkyReader("", 1), writer);
  await transport.start();
  const first = transport.send({ n: 1 });
  await new Promise((resolve) => setTimeout(resolve, 0));
  const queued = transport.send({ n: 2 });
  const expired = new AbortController();
  let closed = false;
  const closing = transport.close({ signal: expired.signal }).then(() => (closed = true));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(closed, false);
  expired.abort();
  await closing;
  const dropped = /Cannot send: the transport closed before the message was written/;
  await assert.rejects(first, dropped);
  await assert.rejects(queued, dropped);
  await assert.rejects(transport.send({ n: 3 }), /the transport is closed/);
  assert.equal(writer.writes, 1);
  assert.equal(writer.aborted.length, 1);
  assert.equal(writer.closed, 0);
});

Deno.test("StreamTransport.close() with an aborted signal writes nothing still queued", async () => {
  const writer = stuckWriter();
  const transport = new StreamTransport(chunkyReader("", 1), writer);
  await transport.start();
  let onclose = 0;
  transport.onclose = () => onclose++;
  const deferred = transport.send({ n: 1 }, { defer: true });
  await transport.close({ signal: AbortSignal.abort() });
  await assert.rejects(deferred, /closed before the message was written/);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(writer.writes, 0);
  assert.equal(onclose, 1);
});

Deno.test("StreamTransport.close() drops what is unwritten when a later close() has an aborted signal", async () => {
  const writer = stuckWriter();
  const transport = new StreamTransport(chunkyReader("", 1), writer);
  await transport.start();
  const sent = transport.send({ n: 1 });
  const graceful = transport.close();
  await transport.close({ signal: AbortSignal.abort() });
  await graceful;
  await assert.rejects(sent, /closed before the message was written/);
});

Deno.test("StreamTransport.close() ignores its signal once everything is written", async () => {
  const writer = chunkyWriter(1 << 20) as ReturnType<typeof chunkyWriter> & ByteWriter;
  let aborted = 0;
  writer.abort = () => {
    aborted++;
    return Promise.resolve();
  };
  const transport = new StreamTransport(chunkyReader("", 1), writer);
  await transport.start();
  const expired = new AbortController();
  const sent = transport.send({ n: 1 });
  await transport.close({ signal: expired.signal });
  expired.abort();
  await sent;
  assert.equal(writer.text(), '{"n":1}\n');
  assert.equal(aborted, 0);
});
