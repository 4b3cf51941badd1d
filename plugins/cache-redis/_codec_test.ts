import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import {
  CorruptEntryError,
  decodeEntry,
  encodeEntry,
  FORMAT_GZIP,
  FORMAT_PLAIN,
  HEADER_BYTES,
} from "./_codec.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const GZIP = { compression: "gzip", compressMinBytes: 1024 } as const;
const NONE = { compression: "none", compressMinBytes: 0 } as const;
const LIMIT = 1 << 20;

function entry(text: string) {
  return { text, storedAt: T0, expiresAt: T0 + 300_000 };
}

Deno.test("encodeEntry() stores a small text plain, behind a 17-byte header", () => {
  const bytes = encodeEntry(entry('{"a":1}'), GZIP);
  assert.equal(bytes[0], FORMAT_PLAIN);
  assert.equal(bytes.length, HEADER_BYTES + 7);
  assert.equal(new TextDecoder().decode(bytes.subarray(HEADER_BYTES)), '{"a":1}');
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  assert.equal(view.getFloat64(1), T0);
  assert.equal(view.getFloat64(9), T0 + 300_000);
});

Deno.test("encodeEntry() gzips a text from compress_min_bytes on, and decodeEntry() restores it", () => {
  const text = JSON.stringify({ content: "the same words again and again ".repeat(100) });
  const bytes = encodeEntry(entry(text), GZIP);
  assert.equal(bytes[0], FORMAT_GZIP);
  assert.ok(bytes.length < text.length / 5, `${bytes.length} bytes for ${text.length}`);
  assert.deepEqual(decodeEntry(bytes, LIMIT), entry(text));
  const under = "x".repeat(1022);
  assert.equal(encodeEntry(entry(JSON.stringify(under)), GZIP)[0], FORMAT_GZIP); // 1024 bytes
  assert.equal(encodeEntry(entry(JSON.stringify(under.slice(1))), GZIP)[0], FORMAT_PLAIN);
  assert.equal(encodeEntry(entry(text), NONE)[0], FORMAT_PLAIN);
});

Deno.test("encodeEntry() keeps a text plain when gzip would not make it smaller", () => {
  const random = crypto.getRandomValues(new Uint8Array(3000));
  const text = JSON.stringify(btoa(String.fromCharCode(...random)));
  const bytes = encodeEntry(entry(text), { compression: "gzip", compressMinBytes: 0 });
  // base64 of random bytes shrinks a little under gzip; a tiny text grows.
  assert.deepEqual(decodeEntry(bytes, LIMIT), entry(text));
  const tiny = encodeEntry(entry("1"), { compression: "gzip", compressMinBytes: 0 });
  assert.equal(tiny[0], FORMAT_PLAIN);
});

Deno.test("values round-trip: any JSON, unicode, lone surrogates, binary as base64", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.jsonValue(),
        fc.string({ unit: "binary" }),
        fc.uint8Array({ maxLength: 4096 }).map((b) => btoa(String.fromCharCode(...b))),
        fc.string({ unit: "binary", minLength: 500, maxLength: 3000 }).map((s) => s.repeat(3)),
      ),
      fc.constantFrom(GZIP, NONE, { compression: "gzip", compressMinBytes: 0 } as const),
      (value, options) => {
        const text = JSON.stringify(value);
        const decoded = decodeEntry(encodeEntry(entry(text), options), LIMIT);
        assert.equal(decoded.text, text);
        assert.deepEqual(JSON.parse(decoded.text), JSON.parse(text));
      },
    ),
    { numRuns: 300 },
  );
  const emoji = JSON.stringify({ content: "Bonjour ☀️ 😀 ünïcödé \uD800" });
  assert.equal(decodeEntry(encodeEntry(entry(emoji), GZIP), LIMIT).text, emoji);
});

Deno.test("decodeEntry() refuses a short value, an unknown format and bad times", () => {
  assert.throws(() => decodeEntry(new Uint8Array(5), LIMIT), CorruptEntryError);
  const bytes = encodeEntry(entry("1"), NONE);
  bytes[0] = 0x7b; // "{": a plain JSON text written by something else
  assert.throws(() => decodeEntry(bytes, LIMIT), /unknown format byte 0x7b/);
  const nan = encodeEntry(entry("1"), NONE);
  new DataView(nan.buffer, nan.byteOffset).setFloat64(1, NaN);
  assert.throws(() => decodeEntry(nan, LIMIT), /not finite/);
});

Deno.test("decodeEntry() refuses a broken gzip stream and invalid UTF-8", () => {
  const bytes = encodeEntry(entry(JSON.stringify("y".repeat(5000))), GZIP);
  const cut = bytes.subarray(0, bytes.length - 10);
  assert.throws(() => decodeEntry(cut, LIMIT), /cannot decompress/);
  const plain = encodeEntry(entry('"ab"'), NONE);
  plain[HEADER_BYTES + 1] = 0xff;
  assert.throws(() => decodeEntry(plain, LIMIT), /not valid UTF-8/);
});

Deno.test("decodeEntry() stops a value that inflates past the limit (a gzip bomb)", () => {
  const header = encodeEntry(entry("1"), NONE).subarray(0, HEADER_BYTES);
  const bomb = gzipSync(new Uint8Array(50 * 1024 * 1024));
  assert.ok(bomb.length < 100_000);
  const bytes = new Uint8Array(HEADER_BYTES + bomb.length);
  bytes.set(header);
  bytes[0] = FORMAT_GZIP;
  bytes.set(bomb, HEADER_BYTES);
  assert.throws(() => decodeEntry(bytes, LIMIT), CorruptEntryError);
  const plain = encodeEntry(entry(JSON.stringify("z".repeat(100))), NONE);
  assert.throws(() => decodeEntry(plain, 50), /over 50/);
});
