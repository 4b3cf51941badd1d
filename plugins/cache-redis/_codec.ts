/**
 * The value format of cache-redis, pure: how an entry's JSON text and times become the bytes
 * of one Redis string, and back.
 *
 * ```text
 * byte 0       format: 0x00 the payload is the JSON text as UTF-8,
 *                      0x01 the payload is that text compressed with gzip (RFC 1952)
 * bytes 1..8   stored at: epoch milliseconds, IEEE 754 double, big-endian
 * bytes 9..16  expires at: epoch milliseconds, IEEE 754 double, big-endian
 * bytes 17..   payload
 * ```
 *
 * Texts of at least `compressMinBytes` bytes are compressed, and the compressed form is kept
 * only when it is smaller. Decompression stops at `maxTextBytes` of output, so a corrupt or
 * hostile value cannot inflate past the entry limit. Any other first byte, a short value, a
 * bad gzip stream or a payload over the limit is a {@linkcode CorruptEntryError}: the reader
 * treats it as a miss. Compression is node:zlib's synchronous gzip, which needs no
 * permission under Deno and is faster than `CompressionStream` for values of a few KB (see
 * cache_bench.ts).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { gunzipSync, gzipSync } from "node:zlib";

/** First byte of a value stored as plain UTF-8 JSON text. */
export const FORMAT_PLAIN = 0x00;
/** First byte of a value stored as gzip-compressed UTF-8 JSON text. */
export const FORMAT_GZIP = 0x01;
/** Bytes before the payload: format, stored at, expires at. */
export const HEADER_BYTES = 17;

/** How values are encoded. */
export interface EncodeOptions {
  /** `gzip` compresses texts of at least `compressMinBytes`; `none` never compresses. */
  compression: "gzip" | "none";
  /** Smallest UTF-8 text, in bytes, that is compressed. */
  compressMinBytes: number;
}

/** An entry as stored: its JSON text and its times (epoch milliseconds). */
export interface StoredEntry {
  /** The value's JSON text. */
  text: string;
  /** When it was stored, by the writer's clock. */
  storedAt: number;
  /** When it expires, by the writer's clock (Redis expires it by its own). */
  expiresAt: number;
}

/** A stored value that cannot be decoded; the reader treats it as a miss. */
export class CorruptEntryError extends Error {
  /** @param message What was wrong with the value. */
  constructor(message: string) {
    super(message);
    this.name = "CorruptEntryError";
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The bytes of an entry, in the format above. */
export function encodeEntry(entry: StoredEntry, options: EncodeOptions): Uint8Array {
  const raw = encoder.encode(entry.text);
  let format = FORMAT_PLAIN;
  let payload: Uint8Array = raw;
  if (options.compression === "gzip" && raw.length >= options.compressMinBytes) {
    const compressed = gzipSync(raw);
    if (compressed.length < raw.length) {
      format = FORMAT_GZIP;
      payload = compressed;
    }
  }
  const bytes = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  bytes[0] = format;
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  view.setFloat64(1, entry.storedAt);
  view.setFloat64(9, entry.expiresAt);
  bytes.set(payload, HEADER_BYTES);
  return bytes;
}

/**
 * The entry in `bytes`. Checks the format byte, the length, the gzip stream, UTF-8 and the
 * text's size, not that the text is JSON (the caller parses it).
 *
 * @throws {CorruptEntryError} when the value is not in the format above or its text is over
 * `maxTextBytes`.
 */
export function decodeEntry(bytes: Uint8Array, maxTextBytes: number): StoredEntry {
  if (bytes.length < HEADER_BYTES) {
    throw new CorruptEntryError(`expected at least ${HEADER_BYTES} bytes, found ${bytes.length}`);
  }
  const format = bytes[0];
  if (format !== FORMAT_PLAIN && format !== FORMAT_GZIP) {
    throw new CorruptEntryError(`unknown format byte 0x${format!.toString(16).padStart(2, "0")}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const storedAt = view.getFloat64(1);
  const expiresAt = view.getFloat64(9);
  if (!Number.isFinite(storedAt) || !Number.isFinite(expiresAt)) {
    throw new CorruptEntryError("the stored times are not finite numbers");
  }
  const payload = bytes.subarray(HEADER_BYTES);
  let raw: Uint8Array;
  if (format === FORMAT_GZIP) {
    try {
      raw = gunzipSync(payload, { maxOutputLength: maxTextBytes });
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new CorruptEntryError(`cannot decompress the value: ${why}`);
    }
  } else raw = payload;
  if (raw.length > maxTextBytes) {
    throw new CorruptEntryError(`the text is ${raw.length} bytes, over ${maxTextBytes}`);
  }
  try {
    return { text: decoder.decode(raw), storedAt, expiresAt };
  } catch {
    throw new CorruptEntryError("the text is not valid UTF-8");
  }
}
