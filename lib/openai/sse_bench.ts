/**
 * Parsing a typical streamed chat completion: 200 content chunks of a few tokens, the role
 * and finish chunks, a usage chunk and `[DONE]` (about 40 KB of SSE), fed to
 * {@linkcode SseParser} one network read per event or in 4 KB reads, read through
 * {@linkcode readSse} from a byte stream, and with `JSON.parse` of every event as the
 * upstream plugins do.
 *
 * @module
 */

import { chatChunkEvents } from "../testing/fake_openai.ts";
import { encodeSse, readSse, SseParser } from "./sse.ts";

const words = Array.from({ length: 200 }, (_, i) => ` word${i % 17}`);
const events = chatChunkEvents(words, { includeUsage: true }).map((event) =>
  typeof event === "string" ? event : encodeSse(event.data, event.event)
);
const text = events.join("");
const perEvent = events;
const perRead = Array.from(
  { length: Math.ceil(text.length / 4096) },
  (_, i) => text.slice(i * 4096, (i + 1) * 4096),
);
const encoder = new TextEncoder();
const eventBytes = perEvent.map((event) => encoder.encode(event));

if (text.length < 30_000) throw new RangeError(`The stream is only ${text.length} characters`);

Deno.bench(`SseParser.push() ${events.length} events, one read each`, { group: "sse" }, () => {
  const parser = new SseParser();
  for (const piece of perEvent) parser.push(piece);
});

Deno.bench(`SseParser.push() the same in ${perRead.length} reads of 4 KB`, {
  group: "sse",
}, () => {
  const parser = new SseParser();
  for (const piece of perRead) parser.push(piece);
});

Deno.bench("SseParser.push() + JSON.parse() of each event", { group: "sse" }, () => {
  const parser = new SseParser();
  for (const piece of perEvent) {
    for (const event of parser.push(piece)) {
      if (event.data !== "[DONE]") JSON.parse(event.data);
    }
  }
});

Deno.bench("readSse() over a byte stream, one chunk per event", { group: "sse" }, async () => {
  let count = 0;
  for await (const _ of readSse(ReadableStream.from(eventBytes))) count++;
  if (count !== events.length) throw new Error(`Read ${count} events of ${events.length}`);
});
