import { encodeMessage, LineDecoder } from "./framing.ts";

const small = {
  jsonrpc: "2.0",
  id: 1,
  method: "cache.get",
  params: { namespace: "acme", key: "k".repeat(64) },
};
const large = {
  jsonrpc: "2.0",
  id: 2,
  method: "upstream.chat",
  params: { request: { messages: [{ role: "user", content: "x".repeat(100_000) }] } },
};
const smallLine = encodeMessage(small);
const largeLine = encodeMessage(large);
const batch = new Uint8Array(smallLine.length * 128);
for (let i = 0; i < 128; i++) batch.set(smallLine, i * smallLine.length);

Deno.bench("encodeMessage() small request", { group: "encode" }, () => {
  encodeMessage(small);
});

Deno.bench("encodeMessage() 100 KB chat request", { group: "encode" }, () => {
  encodeMessage(large);
});

Deno.bench("LineDecoder.push() small line", { group: "decode" }, () => {
  new LineDecoder().push(smallLine);
});

Deno.bench("LineDecoder.push() 100 KB line", { group: "decode" }, () => {
  new LineDecoder().push(largeLine);
});

Deno.bench("LineDecoder.push() 128 small lines in one chunk", { group: "decode" }, () => {
  new LineDecoder().push(batch);
});
