import assert from "node:assert/strict";
import fc from "fast-check";
import { encodeMessage, type Frame, LineDecoder } from "./framing.ts";
import { classifyMessage } from "./messages.ts";
import { Peer } from "./peer.ts";
import { StreamTransport } from "./transport.ts";

const NEWLINE = 0x0a;

/** Bytes biased towards the ones that matter to framing and JSON. */
const byteArbitrary = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 255 }) },
  { weight: 2, arbitrary: fc.constantFrom(NEWLINE, 0x0d, 0x20, 0x7b, 0x7d, 0x5b, 0x5d, 0x22) },
  { weight: 1, arbitrary: fc.constantFrom(0x3a, 0x2c, 0x5c, 0x31, 0x6e, 0xc3, 0xa9, 0xff, 0xed) },
);

const bytesArbitrary = fc.array(byteArbitrary, { maxLength: 400 }).map((list) =>
  Uint8Array.from(list)
);

/** Whole lines of JSON, garbage and whitespace, newline-separated. */
const linesArbitrary = fc.array(
  fc.oneof(
    fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.constantFrom("", " ", "\r", "\t \r", "{", '{"id":3,"x":"', "[1,2]"),
  ),
  { maxLength: 12 },
).map((lines) => new TextEncoder().encode(lines.join("\n")));

function split(input: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => cut % (input.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, input.length]) {
    chunks.push(input.subarray(start, point));
    start = point;
  }
  return chunks;
}

/** What a line-framed reader must report for one line, judged from the whole input at once. */
function expectedFrame(line: Uint8Array, cap: number): Frame | null {
  if (line.length > cap) {
    return { kind: "oversized", bytes: line.length, id: null, response: false };
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(line);
  } catch {
    return { kind: "parse_error", reason: "" };
  }
  try {
    return { kind: "message", value: JSON.parse(text) };
  } catch {
    return text.trim() === "" ? null : { kind: "parse_error", reason: "" };
  }
}

function expectedFrames(input: Uint8Array, cap: number): Frame[] {
  const frames: Frame[] = [];
  let start = 0;
  while (start <= input.length) {
    let end = input.indexOf(NEWLINE, start);
    if (end === -1) end = input.length;
    const frame = expectedFrame(input.subarray(start, end), cap);
    if (frame) frames.push(frame);
    start = end + 1;
  }
  return frames;
}

/** Frames without the details the model does not predict: parse error wording, oversized ids. */
function comparable(frames: Frame[]): Frame[] {
  return frames.map((frame) => {
    if (frame.kind === "parse_error") return { kind: "parse_error", reason: "" };
    if (frame.kind === "oversized") {
      // The model does not read ids or methods out of random bytes; framing_test.ts does.
      assert.ok(frame.id === null || typeof frame.id === "string" || Number.isInteger(frame.id));
      return { ...frame, id: null, response: false };
    }
    return frame;
  });
}

Deno.test("LineDecoder.push() never throws and frames every line as a whole-input reader would", () => {
  fc.assert(
    fc.property(
      fc.oneof(bytesArbitrary, linesArbitrary),
      fc.array(fc.nat(), { maxLength: 12 }),
      fc.integer({ min: 1, max: 64 }),
      (input, cuts, cap) => {
        const decoder = new LineDecoder({ maxLineBytes: cap });
        const frames: Frame[] = [];
        for (const chunk of split(input, cuts)) frames.push(...decoder.push(chunk));
        frames.push(...decoder.end());
        assert.deepEqual(comparable(frames), expectedFrames(input, cap));
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("LineDecoder.push() never produces a message from a line longer than the cap", () => {
  fc.assert(
    fc.property(
      fc.array(fc.jsonValue({ maxDepth: 2 }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      (values, cuts) => {
        const lines = values.map((value) => encodeMessage(value));
        const shortest = Math.min(...lines.map((line) => line.length - 1));
        const decoder = new LineDecoder({ maxLineBytes: Math.max(1, shortest - 1) });
        const input = new Uint8Array(lines.reduce((sum, line) => sum + line.length, 0));
        let offset = 0;
        for (const line of lines) {
          input.set(line, offset);
          offset += line.length;
        }
        const frames: Frame[] = [];
        for (const chunk of split(input, cuts)) frames.push(...decoder.push(chunk));
        frames.push(...decoder.end());
        assert.deepEqual(
          frames.map((frame) => frame.kind === "oversized" ? frame.bytes : frame.kind),
          lines.map((line) => line.length - 1 > decoder.maxLineBytes ? line.length - 1 : "message"),
        );
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("encodeMessage() lines decode back to the same JSON values however they are split", () => {
  fc.assert(
    fc.property(
      fc.array(fc.jsonValue({ stringUnit: "binary", maxDepth: 4 }), { maxLength: 6 }),
      fc.array(fc.nat(), { maxLength: 16 }),
      (values, cuts) => {
        const encoded = values.map((value) => encodeMessage(value));
        const input = new Uint8Array(encoded.reduce((sum, line) => sum + line.length, 0));
        let offset = 0;
        for (const line of encoded) {
          input.set(line, offset);
          offset += line.length;
        }
        assert.equal(input.filter((byte) => byte === NEWLINE).length, values.length);
        const decoder = new LineDecoder();
        const frames: Frame[] = [];
        for (const chunk of split(input, cuts)) frames.push(...decoder.push(chunk));
        assert.deepEqual(decoder.end(), []);
        const roundTripped = values.map((value) => JSON.parse(JSON.stringify(value)));
        assert.deepEqual(frames, roundTripped.map((value) => ({ kind: "message", value })));
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("classifyMessage() never throws and always names a kind", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.anything({ withNullPrototype: true, withBoxedValues: true, withSparseArray: true }),
        fc.record({
          jsonrpc: fc.oneof(fc.constant("2.0"), fc.jsonValue()),
          id: fc.oneof(fc.integer(), fc.string(), fc.double(), fc.jsonValue()),
          method: fc.oneof(fc.string(), fc.jsonValue()),
          result: fc.jsonValue(),
          error: fc.oneof(fc.record({ code: fc.integer(), message: fc.string() }), fc.jsonValue()),
          params: fc.jsonValue(),
        }, { requiredKeys: [] }),
      ),
      (value) => {
        const classified = classifyMessage(value);
        assert.ok(
          ["request", "notification", "success", "failure", "invalid"].includes(classified.kind),
        );
        if (classified.kind === "invalid") {
          const { id } = classified;
          assert.ok(id === null || typeof id === "string" || Number.isSafeInteger(id));
        }
      },
    ),
    { numRuns: 500 },
  );
});

/** What the fuzzer writes to the peer: raw bytes, JSON lines, JSON-RPC-shaped lines. */
const inputArbitrary: fc.Arbitrary<Uint8Array> = fc.oneof(
  bytesArbitrary,
  fc.jsonValue({ stringUnit: "binary" }).map((value) => encodeMessage(value)),
  fc.anything({
    maxDepth: 3,
    withNullPrototype: true,
    withBoxedValues: true,
    withMap: true,
    withSet: true,
    withDate: true,
    withTypedArray: true,
    withSparseArray: true,
  }).map((value) => {
    const text = JSON.stringify(value);
    return new TextEncoder().encode(text === undefined ? "\n" : text + "\n");
  }),
  fc.record({
    jsonrpc: fc.oneof({ weight: 4, arbitrary: fc.constant("2.0") }, fc.jsonValue()),
    id: fc.oneof(fc.nat({ max: 5 }), fc.string({ maxLength: 3 }), fc.jsonValue()),
    method: fc.oneof(fc.constantFrom("$/cancel", "echo", "health", ""), fc.jsonValue()),
    params: fc.oneof(
      fc.record({ id: fc.oneof(fc.nat({ max: 5 }), fc.jsonValue()) }),
      fc.jsonValue(),
    ),
    result: fc.jsonValue(),
    error: fc.oneof(fc.record({ code: fc.integer(), message: fc.string() }), fc.jsonValue()),
  }, { requiredKeys: [] }).map((message) => encodeMessage(message)),
  fc.tuple(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom("[", '{"a":'), fc.boolean())
    .map(([depth, open, closed]) => {
      const close = open === "[" ? "]" : "}";
      const nested = open.repeat(depth) + (open === "[" ? "" : "1") +
        (closed ? close.repeat(depth) : "");
      const asParams = depth % 2 === 0;
      const line = asParams
        ? `{"jsonrpc":"2.0","id":"deep","method":"echo","params":${nested}}`
        : nested;
      return new TextEncoder().encode(line + "\n");
    }),
);

interface FuzzOutcome {
  answer: unknown;
  replies: unknown[];
  unhandled: unknown[];
  closed: boolean;
}

/** Feed a fresh peer the inputs, then one valid request, and report what it wrote. */
async function feedPeer(inputs: Uint8Array[], maxLineBytes: number): Promise<FuzzOutcome> {
  const unhandled: unknown[] = [];
  function onUnhandled(event: PromiseRejectionEvent): void {
    event.preventDefault();
    unhandled.push(event.reason);
  }
  globalThis.addEventListener("unhandledrejection", onUnhandled);
  const toPeer = new TransformStream<Uint8Array, Uint8Array>();
  const fromPeer = new TransformStream<Uint8Array, Uint8Array>();
  const peer = new Peer(new StreamTransport(toPeer.readable, fromPeer.writable, { maxLineBytes }), {
    onrequest: (params, { method }) => ({ method, params: params ?? null }),
    onnotification: () => {},
    onwarning: () => {},
  });
  const writer = toPeer.writable.getWriter();
  const reader = fromPeer.readable.getReader();
  const replies: unknown[] = [];
  const finalId = "fuzz-final-check";
  try {
    await peer.start();
    const answer = (async function readUntilAnswer() {
      const decoder = new LineDecoder();
      while (true) {
        const { value, done } = await reader.read();
        if (done) return undefined;
        for (const frame of decoder.push(value)) {
          assert.equal(frame.kind, "message");
          const message = (frame as { value: unknown }).value;
          replies.push(message);
          if ((message as { id?: unknown }).id === finalId) return message;
        }
      }
    })();
    for (const input of inputs) await writer.write(input);
    // End a last input line that has no newline, then ask.
    await writer.write(new TextEncoder().encode("\n"));
    await writer.write(encodeMessage({ jsonrpc: "2.0", id: finalId, method: "echo", params: 7 }));
    const result = await answer;
    // Let any stray rejection surface before reporting.
    await new Promise((resolve) => setTimeout(resolve, 0));
    return { answer: result, replies, unhandled, closed: peer.isClosed };
  } finally {
    await reader.cancel().catch(() => {});
    await writer.close().catch(() => {});
    await peer.close();
    globalThis.removeEventListener("unhandledrejection", onUnhandled);
  }
}

Deno.test("Peer survives random bytes and JSON and still answers a valid request", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(inputArbitrary, { maxLength: 12 }),
      fc.constantFrom(96, 4096, 1024 * 1024),
      async (inputs, maxLineBytes) => {
        const outcome = await feedPeer(inputs, maxLineBytes);
        assert.deepEqual(outcome.unhandled, []);
        assert.equal(outcome.closed, false);
        assert.deepEqual(outcome.answer, {
          jsonrpc: "2.0",
          id: "fuzz-final-check",
          result: { method: "echo", params: 7 },
        });
        for (const reply of outcome.replies) {
          const kind = classifyMessage(reply).kind;
          assert.ok(kind === "success" || kind === "failure", `the peer wrote a ${kind}`);
        }
      },
    ),
    { numRuns: 200 },
  );
});
