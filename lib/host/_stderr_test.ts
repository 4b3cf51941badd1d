import assert from "node:assert/strict";
import { forwardLines } from "./_stderr.ts";

async function records(...chunks: (string | number[])[]): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  const bytes = chunks.map((c) =>
    typeof c === "string" ? new TextEncoder().encode(c) : new Uint8Array(c)
  );
  await forwardLines(ReadableStream.from(bytes), (record) => out.push(record));
  return out;
}

Deno.test("forwardLines() joins lines across chunks and wraps what is not a JSON object", async () => {
  assert.deepEqual(await records('{"level":"warn","ms', 'g":"a"}\nplain text\n[1]\n\n', "tail"), [
    { level: "warn", msg: "a" },
    { level: "info", msg: "plain text" },
    { level: "info", msg: "[1]" },
    { level: "info", msg: "tail" },
  ]);
});

Deno.test("forwardLines() decodes a character split across chunks, and flushes a cut one at the end", async () => {
  const euro = [...new TextEncoder().encode("€")]; // 3 bytes
  assert.deepEqual(await records([0x61, euro[0]!], [euro[1]!, euro[2]!, 0x0a, 0x62, euro[0]!]), [
    { level: "info", msg: "a€" },
    { level: "info", msg: "b\uFFFD" },
  ]);
});

Deno.test("forwardLines() cuts a line longer than 64 KiB", async () => {
  const [record] = await records("x".repeat(70_000) + "\n");
  assert.equal((record!.msg as string).length, 64 * 1024);
});
