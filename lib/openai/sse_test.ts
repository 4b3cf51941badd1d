import assert from "node:assert/strict";
import fc from "fast-check";
import { encodeSse, readSse, type SseEvent, SseParser } from "./sse.ts";

function parseAll(...pieces: string[]): SseEvent[] {
  const parser = new SseParser();
  return pieces.flatMap((piece) => parser.push(piece));
}

function streamOf(chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return ReadableStream.from(
    chunks.map((chunk) => typeof chunk === "string" ? encoder.encode(chunk) : chunk),
  );
}

/** Cuts `input` at the given points (any order, repeats allowed: they make empty pieces). */
function cut<T extends string | Uint8Array>(input: T, points: number[]): T[] {
  const sorted = points.map((point) => point % (input.length + 1)).sort((a, b) => a - b);
  const pieces: T[] = [];
  let start = 0;
  for (const point of [...sorted, input.length]) {
    pieces.push(input.slice(start, point) as T);
    start = point;
  }
  return pieces;
}

const SAMPLE = [
  ": welcome\r\n",
  'event: first\r\nid: 7\r\ndata: {"a":\r\ndata:1}\r\n\r\n',
  ":keep-alive\r\n\r\n",
  "data: two\rdata\r\r",
  "retry: 100\nunknown: x\ndata:  three\n\n",
].join("");

const SAMPLE_EVENTS: SseEvent[] = [
  { event: "first", data: '{"a":\n1}', id: "7" },
  { event: "message", data: "two\n", id: "7" },
  { event: "message", data: " three", id: "7" },
];

Deno.test("SseParser.push() parses a stream in one piece", () => {
  assert.deepEqual(parseAll(SAMPLE), SAMPLE_EVENTS);
});

Deno.test("SseParser.push() gives the same events wherever the stream is split", () => {
  for (let i = 0; i <= SAMPLE.length; i++) {
    assert.deepEqual(parseAll(SAMPLE.slice(0, i), SAMPLE.slice(i)), SAMPLE_EVENTS, `at ${i}`);
    for (let j = i; j <= SAMPLE.length; j++) {
      const pieces = [SAMPLE.slice(0, i), SAMPLE.slice(i, j), SAMPLE.slice(j)];
      assert.deepEqual(parseAll(...pieces), SAMPLE_EVENTS, `at ${i} and ${j}`);
    }
  }
  assert.deepEqual(parseAll(...SAMPLE), SAMPLE_EVENTS, "one character at a time");
});

Deno.test("SseParser.push() treats LF, CRLF and CR line ends alike", () => {
  const text = "event: e\ndata: a\ndata: b\n\ndata: c\n\n";
  const expected = [{ event: "e", data: "a\nb" }, { event: "message", data: "c" }];
  assert.deepEqual(parseAll(text), expected);
  assert.deepEqual(parseAll(text.replaceAll("\n", "\r\n")), expected);
  assert.deepEqual(parseAll(text.replaceAll("\n", "\r")), expected);
  assert.deepEqual(parseAll("data: a\r\ndata: b\rdata: c\n\r\n"), [
    { event: "message", data: "a\nb\nc" },
  ]);
});

Deno.test("SseParser.push() joins a CR at the end of a chunk with the LF that starts the next", () => {
  assert.deepEqual(parseAll("data: a\r", "\ndata: b\r\n\r\n"), [{
    event: "message",
    data: "a\nb",
  }]);
  assert.deepEqual(parseAll("data: a\r", "", "\ndata: b\r\n\r\n"), [
    { event: "message", data: "a\nb" },
  ]);
  assert.deepEqual(parseAll("data: a\r", "\r\n"), [{ event: "message", data: "a" }]);
  assert.deepEqual(parseAll("data: a\r", "\r", "\n"), [{ event: "message", data: "a" }]);
});

Deno.test("SseParser.push() ignores comments and keep-alives", () => {
  assert.deepEqual(parseAll(": ping\n\n", ":\n\n", "\n\n"), []);
  assert.deepEqual(parseAll("data: a\n: inside an event\ndata: b\n\n"), [
    { event: "message", data: "a\nb" },
  ]);
});

Deno.test("SseParser.push() reads event and id fields", () => {
  assert.deepEqual(parseAll("event: delta\nid: 1\ndata: x\n\ndata: y\n\n"), [
    { event: "delta", data: "x", id: "1" },
    { event: "message", data: "y", id: "1" },
  ]);
  assert.deepEqual(parseAll("id: 2\ndata: x\n\nid: a\0b\ndata: y\n\n").map((e) => e.id), [
    "2",
    "2",
  ]);
  assert.deepEqual(parseAll("event: lost\n\ndata: z\n\n"), [{ event: "message", data: "z" }]);
});

Deno.test("SseParser.push() strips one space after the colon, and reads a field without colon", () => {
  assert.deepEqual(parseAll("data:x\n\n"), [{ event: "message", data: "x" }]);
  assert.deepEqual(parseAll("data:  x \n\n"), [{ event: "message", data: " x " }]);
  assert.deepEqual(parseAll("data: a:b: c\n\n"), [{ event: "message", data: "a:b: c" }]);
  assert.deepEqual(parseAll("data\n\n"), [{ event: "message", data: "" }]);
  assert.deepEqual(parseAll("data\ndata\n\n"), [{ event: "message", data: "\n" }]);
  assert.deepEqual(parseAll("event: e\nevent\ndata: x\n\n"), [{ event: "message", data: "x" }]);
  assert.deepEqual(parseAll("datum: x\nDATA: y\n\n"), []);
});

Deno.test("SseParser.buffered counts the characters of an unfinished event", () => {
  const parser = new SseParser();
  parser.push("data: abc\ndata: de");
  assert.equal(parser.buffered, "abc".length + "data: de".length);
  parser.push("\n\n");
  assert.equal(parser.buffered, 0);
});

Deno.test("readSse() drops an event still incomplete at the end of the stream", async () => {
  const events = await Array.fromAsync(readSse(streamOf(["data: 1\n\ndata: 2\n"])));
  assert.deepEqual(events, [{ event: "message", data: "1" }]);
  const unterminated = await Array.fromAsync(readSse(streamOf(["data: 1\n\n", "data: [DONE]"])));
  assert.deepEqual(unterminated.map((e) => e.data), ["1"]);
});

Deno.test("readSse() decodes characters split across reads", async () => {
  const bytes = new TextEncoder().encode("data: héllo 🦊\r\n\r\n");
  for (let i = 0; i <= bytes.length; i++) {
    const events = await Array.fromAsync(readSse(streamOf([bytes.slice(0, i), bytes.slice(i)])));
    assert.deepEqual(events, [{ event: "message", data: "héllo 🦊" }], `at ${i}`);
  }
});

Deno.test("readSse() throws RangeError when an event grows past maxEventChars", async () => {
  const events: string[] = [];
  await assert.rejects(async () => {
    const stream = streamOf(["data: ok\n\n", "data: 0123456789", "0123456789", "\n\n"]);
    for await (const event of readSse(stream, { maxEventChars: 16 })) events.push(event.data);
  }, RangeError);
  assert.deepEqual(events, ["ok"]);
  const many = streamOf(["data: 0123456789\n", "data: 0123456789\n", "\n"]);
  await assert.rejects(Array.fromAsync(readSse(many, { maxEventChars: 16 })), RangeError);
  const fits = streamOf(["data: 0123456789\n\n", "data: 0123456789\n\n"]);
  assert.equal((await Array.fromAsync(readSse(fits, { maxEventChars: 16 }))).length, 2);
});

Deno.test("encodeSse() output parses back, multi-line data and event name included", () => {
  const text = encodeSse("line 1\nline 2\r\nline 3\rline 4\n", "update") + encodeSse("") +
    encodeSse("[DONE]");
  assert.equal(
    text.split("\n\n")[0],
    "event: update\ndata: line 1\ndata: line 2\ndata: line 3\ndata: line 4\ndata: ",
  );
  assert.deepEqual(parseAll(text), [
    { event: "update", data: "line 1\nline 2\nline 3\nline 4\n" },
    { event: "message", data: "" },
    { event: "message", data: "[DONE]" },
  ]);
});

const eventArbitrary = fc.record({
  data: fc.oneof(
    fc.string({ unit: "binary", maxLength: 60 }),
    fc.array(fc.constantFrom("a", " ", ":", "\n", "\r", "\r\n", "data: ", "é", "🦊"), {
      maxLength: 12,
    }).map((parts) => parts.join("")),
    fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value)),
  ),
  event: fc.option(
    fc.string({ unit: "binary", minLength: 1, maxLength: 20 }).filter((s) => !/[\r\n]/.test(s)),
    { nil: undefined },
  ),
});

function expectedOf(sent: { data: string; event: string | undefined }[]): SseEvent[] {
  return sent.map(({ data, event }) => ({
    event: event || "message",
    data: data.toWellFormed().replace(/\r\n|\r/g, "\n"),
  }));
}

Deno.test("encodeSse() events, with any line ends and split into random chunks, parse back", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(eventArbitrary, { maxLength: 8 }),
      fc.constantFrom("\n", "\r\n", "\r"),
      fc.array(fc.nat(), { maxLength: 12 }),
      fc.boolean(),
      async (sent, lineEnd, cuts, twice) => {
        // Cutting twice at a point makes an empty chunk there, as a network read may.
        const points = twice ? cuts.flatMap((point) => [point, point]) : cuts;
        // encodeSse writes LF only; every LF in its output ends a line, so any line end may replace it.
        const text = sent.map(({ data, event }) => encodeSse(data, event)).join("")
          .replaceAll("\n", lineEnd);
        const bytes = new TextEncoder().encode(text);
        const events = await Array.fromAsync(readSse(streamOf(cut(bytes, points))));
        assert.deepEqual(events, expectedOf(sent));
        assert.deepEqual(parseAll(...cut(text.toWellFormed(), points)), expectedOf(sent));
      },
    ),
    { numRuns: 300 },
  );
});
