import assert from "node:assert/strict";
import { encodeMessage, type Frame, LineDecoder } from "./framing.ts";

const encoder = new TextEncoder();

function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

function decodeAll(decoder: LineDecoder, chunks: Uint8Array[]): Frame[] {
  const frames: Frame[] = [];
  for (const chunk of chunks) frames.push(...decoder.push(chunk));
  frames.push(...decoder.end());
  return frames;
}

function messages(...values: unknown[]): Frame[] {
  return values.map((value) => ({ kind: "message", value }));
}

Deno.test("LineDecoder.push() decodes lines split across two chunks at every byte offset", () => {
  const input = bytes('{"jsonrpc":"2.0","id":1,"method":"é✓😀"}\n["a",{"b":null}]\n42\n"x"\n');
  const expected = messages(
    { jsonrpc: "2.0", id: 1, method: "é✓😀" },
    ["a", { b: null }],
    42,
    "x",
  );
  for (let offset = 0; offset <= input.length; offset++) {
    const frames = decodeAll(new LineDecoder(), [
      input.subarray(0, offset),
      input.subarray(offset),
    ]);
    assert.deepEqual(frames, expected, `split at byte ${offset}`);
  }
});

Deno.test("LineDecoder.push() decodes lines fed one byte at a time", () => {
  const input = bytes('{"text":"naïve 😀"}\n{"n":-1.5e3}\n');
  const decoder = new LineDecoder();
  const frames: Frame[] = [];
  for (const byte of input) frames.push(...decoder.push(Uint8Array.of(byte)));
  assert.deepEqual(frames, messages({ text: "naïve 😀" }, { n: -1500 }));
  assert.deepEqual(decoder.end(), []);
});

Deno.test("LineDecoder.push() returns every line of a chunk that holds several", () => {
  const decoder = new LineDecoder();
  assert.deepEqual(
    decoder.push(bytes('{"a":1}\n{"b":2}\n{"c":3}\n{"d"')),
    messages({ a: 1 }, { b: 2 }, { c: 3 }),
  );
  assert.deepEqual(decoder.push(bytes(":4}\n")), messages({ d: 4 }));
});

Deno.test("LineDecoder.push() returns nothing for a chunk without a newline", () => {
  const decoder = new LineDecoder();
  assert.deepEqual(decoder.push(bytes('{"a":')), []);
  assert.deepEqual(decoder.push(new Uint8Array()), []);
  assert.deepEqual(decoder.push(bytes("1}")), []);
  assert.deepEqual(decoder.push(bytes("\n")), messages({ a: 1 }));
});

Deno.test("LineDecoder.push() keeps its own copy of a partial line when the chunk is reused", () => {
  const decoder = new LineDecoder();
  const chunk = bytes('{"a":');
  assert.deepEqual(decoder.push(chunk), []);
  chunk.fill(0x20);
  assert.deepEqual(decoder.push(bytes('"kept"}\n')), messages({ a: "kept" }));
});

Deno.test("LineDecoder.push() ignores blank and whitespace-only lines", () => {
  const decoder = new LineDecoder();
  assert.deepEqual(decoder.push(bytes('\n\n  \t \n\r\n{"a":1}\n\n')), messages({ a: 1 }));
  assert.deepEqual(decoder.push(bytes("   ")), []);
  assert.deepEqual(decoder.end(), []);
});

Deno.test("LineDecoder.push() accepts CRLF line endings", () => {
  const decoder = new LineDecoder();
  assert.deepEqual(
    decoder.push(bytes('{"a":1}\r\n{"b":[1,2]}\r\n')),
    messages({ a: 1 }, { b: [1, 2] }),
  );
});

Deno.test("LineDecoder.end() returns a last line that has no newline", () => {
  const decoder = new LineDecoder();
  assert.deepEqual(decoder.push(bytes('{"a":1}\n{"b":2}')), messages({ a: 1 }));
  assert.deepEqual(decoder.end(), messages({ b: 2 }));
  assert.deepEqual(decoder.end(), []);
});

Deno.test("LineDecoder.end() returns nothing when the stream ended on a newline", () => {
  const decoder = new LineDecoder();
  assert.deepEqual(decoder.end(), []);
  decoder.push(bytes('{"a":1}\n'));
  assert.deepEqual(decoder.end(), []);
});

Deno.test("LineDecoder.end() reports a last line that is not valid JSON", () => {
  const decoder = new LineDecoder();
  decoder.push(bytes('{"a":'));
  const frames = decoder.end();
  assert.equal(frames.length, 1);
  assert.equal(frames[0]!.kind, "parse_error");
});

Deno.test("LineDecoder.push() reports invalid UTF-8 as a parse error", () => {
  const cases = [
    Uint8Array.of(0xff, 0x0a),
    Uint8Array.of(0x22, 0xc3, 0x22, 0x0a), // truncated two-byte sequence inside a string
    Uint8Array.of(0x22, 0xc0, 0xaf, 0x22, 0x0a), // overlong encoding of "/"
    Uint8Array.of(0x22, 0xed, 0xa0, 0x80, 0x22, 0x0a), // UTF-16 surrogate encoded in UTF-8
  ];
  for (const input of cases) {
    const frames = new LineDecoder().push(input);
    assert.deepEqual(frames, [{ kind: "parse_error", reason: "the line is not valid UTF-8" }]);
  }
});

Deno.test("LineDecoder.push() keeps decoding after a line of invalid UTF-8", () => {
  const decoder = new LineDecoder();
  const frames = decoder.push(
    Uint8Array.of(0x7b, 0xff, 0xfe, 0x7d, 0x0a, ...bytes('{"ok":"é"}\n')),
  );
  assert.equal(frames.length, 2);
  assert.equal(frames[0]!.kind, "parse_error");
  assert.deepEqual(frames[1], { kind: "message", value: { ok: "é" } });
  assert.deepEqual(decoder.push(bytes('"next"\n')), messages("next"));
});

Deno.test("LineDecoder.push() reports invalid JSON as a parse error and keeps decoding", () => {
  const decoder = new LineDecoder();
  const frames = decoder.push(bytes('{"a":1,}\nnot json\n{"b":2}\n'));
  assert.equal(frames.length, 3);
  for (const frame of frames.slice(0, 2)) {
    assert.equal(frame.kind, "parse_error");
    assert.match((frame as { reason: string }).reason, /^the line is not valid JSON: /);
  }
  assert.deepEqual(frames[2], { kind: "message", value: { b: 2 } });
  assert.deepEqual(decoder.push(bytes("[]\n")), messages([]));
});

Deno.test("LineDecoder.push() accepts a line of exactly maxLineBytes bytes", () => {
  const line = '{"x":"' + "a".repeat(20) + '"}';
  const decoder = new LineDecoder({ maxLineBytes: line.length });
  assert.deepEqual(decoder.push(bytes(line + "\n")), messages({ x: "a".repeat(20) }));
  assert.deepEqual(decoder.push(bytes(line + "\r\n")), [
    { kind: "oversized", bytes: line.length + 1, id: null, response: false },
  ]);
});

Deno.test("LineDecoder.push() reports one oversized frame with the id from its prefix", () => {
  const line = '{"jsonrpc":"2.0","id":17,"method":"x","params":"' + "a".repeat(500) + '"}';
  const decoder = new LineDecoder({ maxLineBytes: 100 });
  assert.deepEqual(decoder.push(bytes(line + "\n")), [
    { kind: "oversized", bytes: line.length, id: 17, response: false },
  ]);
});

Deno.test("LineDecoder.push() reports one oversized frame for a line spread over many chunks", () => {
  const line = '{"id":-3,"params":"' + "b".repeat(1000) + '"}';
  const decoder = new LineDecoder({ maxLineBytes: 64 });
  const input = bytes(line + '\n{"after":true}\n');
  const frames: Frame[] = [];
  for (let start = 0; start < input.length; start += 7) {
    frames.push(...decoder.push(input.subarray(start, start + 7)));
  }
  assert.deepEqual(frames, [
    { kind: "oversized", bytes: line.length, id: -3, response: false },
    { kind: "message", value: { after: true } },
  ]);
});

Deno.test("LineDecoder.push() reads a string id from the prefix of an oversized line", () => {
  const decoder = new LineDecoder({ maxLineBytes: 50 });
  const cases: [string, string][] = [
    ['{"id": "req-42" ,', "req-42"],
    ['{ "method":"m", "id":"with \\"quote\\" é", ', 'with "quote" é'],
  ];
  for (const [prefix, id] of cases) {
    const line = prefix + '"pad":"' + "c".repeat(200) + '"}';
    assert.deepEqual(decoder.push(bytes(line + "\n")), [
      { kind: "oversized", bytes: bytes(line).length, id, response: false },
    ]);
  }
});

Deno.test("LineDecoder.push() reports a null id for an oversized line without a readable id", () => {
  const pad = "d".repeat(300);
  const lines = [
    `{"jsonrpc":"2.0","method":"notify","params":"${pad}"}`,
    `{"method":"m","params":{"id":99,"pad":"${pad}"}}`,
    `{"id":1.5,"pad":"${pad}"}`,
    `{"id":null,"pad":"${pad}"}`,
    `["${pad}"]`,
    "x".repeat(300),
  ];
  const decoder = new LineDecoder({ maxLineBytes: 40 });
  for (const line of lines) {
    assert.deepEqual(decoder.push(bytes(line + "\n")), [
      { kind: "oversized", bytes: line.length, id: null, response: false },
    ], line.slice(0, 30));
  }
});

Deno.test("LineDecoder.push() reports the same oversized frame wherever the chunks are split", () => {
  const line = '{"jsonrpc":"2.0","id":8,"method":"m","params":"' + "e".repeat(100) + '"}';
  const input = bytes(line + "\n");
  const expected = [{ kind: "oversized", bytes: line.length, id: 8, response: false }];
  for (let offset = 0; offset <= input.length; offset++) {
    const decoder = new LineDecoder({ maxLineBytes: 20 });
    const frames = decodeAll(decoder, [input.subarray(0, offset), input.subarray(offset)]);
    assert.deepEqual(frames, expected, `split at byte ${offset}`);
  }
});

Deno.test("LineDecoder.push() tells an oversized response from an oversized request", () => {
  const decoder = new LineDecoder({ maxLineBytes: 32 });
  const response = `{"jsonrpc":"2.0","id":4,"result":{"text":"${"r".repeat(100)}"}}`;
  const request = `{"jsonrpc":"2.0","id":5,"method":"m","params":{"result":"${"q".repeat(100)}"}}`;
  assert.deepEqual(decoder.push(bytes(`${response}\n${request}\n`)), [
    { kind: "oversized", bytes: response.length, id: 4, response: true },
    { kind: "oversized", bytes: request.length, id: 5, response: false },
  ]);
});

Deno.test("LineDecoder.push() decodes the line after an oversized one in the same chunk", () => {
  const decoder = new LineDecoder({ maxLineBytes: 16 });
  const frames = decoder.push(bytes('{"id":2,"big":"' + "f".repeat(100) + '"}\n{"small":1}\n'));
  assert.equal(frames.length, 2);
  assert.equal(frames[0]!.kind, "oversized");
  assert.deepEqual(frames[1], { kind: "message", value: { small: 1 } });
});

Deno.test("LineDecoder.end() reports an oversized last line that has no newline", () => {
  const decoder = new LineDecoder({ maxLineBytes: 10 });
  assert.deepEqual(decoder.push(bytes('{"id":"z","pad":"' + "g".repeat(50))), []);
  assert.deepEqual(decoder.end(), [{ kind: "oversized", bytes: 67, id: "z", response: false }]);
  assert.deepEqual(decoder.end(), []);
});

Deno.test("LineDecoder.push() keeps memory bounded while skipping an over-long line", () => {
  const decoder = new LineDecoder({ maxLineBytes: 1024 });
  const chunk = new Uint8Array(1024 * 1024).fill(0x61);
  const before = Deno.memoryUsage().external;
  for (let i = 0; i < 256; i++) assert.deepEqual(decoder.push(chunk), []);
  const grown = Deno.memoryUsage().external - before;
  assert.ok(grown < 32 * 1024 * 1024, `external memory grew by ${grown} bytes`);
  assert.deepEqual(decoder.push(bytes('\n{"a":1}\n')), [
    { kind: "oversized", bytes: 256 * 1024 * 1024, id: null, response: false },
    { kind: "message", value: { a: 1 } },
  ]);
});

Deno.test("LineDecoder() refuses a cap that is not a positive integer", () => {
  for (const max of [0, -1, 1.5, NaN, Infinity, 2 ** 53]) {
    assert.throws(() => new LineDecoder({ maxLineBytes: max }), RangeError);
  }
  assert.equal(new LineDecoder().maxLineBytes, 16 * 1024 * 1024);
  assert.equal(new LineDecoder({ maxLineBytes: 1 }).maxLineBytes, 1);
});

Deno.test("LineDecoder.maxLineBytes setter changes the cap for the next lines", () => {
  const decoder = new LineDecoder({ maxLineBytes: 8 });
  const line = '{"a":"0123456789"}';
  assert.equal(decoder.push(bytes(line + "\n"))[0]!.kind, "oversized");
  decoder.maxLineBytes = 100;
  assert.equal(decoder.maxLineBytes, 100);
  assert.deepEqual(decoder.push(bytes(line + "\n")), messages({ a: "0123456789" }));
  decoder.maxLineBytes = 8;
  assert.deepEqual(decoder.push(bytes(line + "\n")), [
    { kind: "oversized", bytes: line.length, id: null, response: false },
  ]);
});

Deno.test("LineDecoder.maxLineBytes setter refuses a cap that is not a positive integer", () => {
  const decoder = new LineDecoder({ maxLineBytes: 8 });
  for (const max of [0, -5, 0.5, NaN]) {
    assert.throws(() => (decoder.maxLineBytes = max), RangeError);
  }
  assert.equal(decoder.maxLineBytes, 8);
});

Deno.test("LineDecoder.maxLineBytes setter judges the current partial line by the new cap", () => {
  const grow = new LineDecoder({ maxLineBytes: 10 });
  grow.push(bytes('{"a":"'));
  grow.maxLineBytes = 100;
  assert.deepEqual(grow.push(bytes('0123456789"}\n')), messages({ a: "0123456789" }));

  const shrinkThenMore = new LineDecoder({ maxLineBytes: 100 });
  shrinkThenMore.push(bytes('{"a":"0123456789"'));
  shrinkThenMore.maxLineBytes = 10;
  assert.deepEqual(shrinkThenMore.push(bytes("}\n")), [{
    kind: "oversized",
    bytes: 18,
    id: null,
    response: false,
  }]);

  const shrinkThenNewline = new LineDecoder({ maxLineBytes: 100 });
  shrinkThenNewline.push(bytes('{"a":"0123456789"}'));
  shrinkThenNewline.maxLineBytes = 10;
  assert.deepEqual(shrinkThenNewline.push(bytes("\n")), [
    { kind: "oversized", bytes: 18, id: null, response: false },
  ]);
});

Deno.test("encodeMessage() escapes newlines inside strings so the line has one newline", () => {
  const message = {
    jsonrpc: "2.0",
    method: "multi\nline",
    params: { "key\r\n": "a\nb\rc\u2028d", list: ["\n", "\n\n"] },
  };
  const line = encodeMessage(message);
  assert.equal(line.filter((byte) => byte === 0x0a).length, 1);
  assert.equal(line.at(-1), 0x0a);
  assert.deepEqual(new LineDecoder().push(line), messages(message));
});

Deno.test("encodeMessage() writes UTF-8 that LineDecoder reads back, lone surrogates included", () => {
  const message = { text: "ünïcödé 😀 \ud800 \udfff", n: [0, -1, 1.25, null, true] };
  const line = encodeMessage(message);
  assert.equal(new TextDecoder().decode(line).endsWith("}\n"), true);
  assert.deepEqual(new LineDecoder().push(line), messages(message));
});

Deno.test("encodeMessage() throws on a value JSON cannot represent", () => {
  assert.throws(() => encodeMessage({ n: 1n }), TypeError);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(() => encodeMessage(cyclic), TypeError);
});
