import assert from "node:assert/strict";
import * as z from "zod";
import { definePlugin, secret } from "./definition.ts";
import { runPlugin } from "./run.ts";

const plugin = definePlugin({
  name: "run-test",
  version: "0.0.1",
  description: "For runPlugin tests",
  capabilities: ["observer"],
  config: z.strictObject({ token: secret("A token") }),
  create: () => ({ observer: { emit: () => {} } }),
});

function capture() {
  const chunks: Uint8Array[] = [];
  const stdout = new WritableStream<Uint8Array>({ write: (chunk) => void chunks.push(chunk) });
  const text = () => new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  return { stdout, text };
}

Deno.test("runPlugin() prints the manifest on --describe and exits 0", async () => {
  const { stdout, text } = capture();
  let exitCode = -1;
  await runPlugin(plugin, { args: ["--describe"], stdout, exit: (code) => (exitCode = code) });
  assert.equal(exitCode, 0);
  const manifest = JSON.parse(text());
  assert.equal(manifest.name, "run-test");
  assert.deepEqual(manifest.capabilities, ["observer"]);
  assert.equal(manifest.config_schema.properties.token["x-vulpes-secret"], true);
  assert.equal(typeof manifest.permissions.net, "string");
});

Deno.test("runPlugin() refuses to serve a terminal and exits 1", async () => {
  let exitCode = -1;
  await runPlugin(plugin, { args: [], isTerminal: true, exit: (code) => (exitCode = code) });
  assert.equal(exitCode, 1);
});

Deno.test("runPlugin() serves stdin until its end and exits 0", async () => {
  const { stdout, text } = capture();
  const stdin = ReadableStream.from([
    new TextEncoder().encode('{"jsonrpc":"2.0","id":1,"method":"health"}\n'),
  ]);
  let exitCode = -1;
  await runPlugin(plugin, {
    args: [],
    isTerminal: false,
    stdin,
    stdout,
    writeLog: () => {},
    exit: (code) => (exitCode = code),
  });
  assert.equal(exitCode, 0);
  assert.deepEqual(JSON.parse(text()), {
    jsonrpc: "2.0",
    id: 1,
    result: { status: "unavailable", detail: { reason: "not initialized" } },
  });
});

Deno.test("runPlugin() answers a last request without newline and shutdown sent right before end of input", async () => {
  const { stdout, text } = capture();
  const lines =
    '{"jsonrpc":"2.0","id":1,"method":"shutdown"}\n{"jsonrpc":"2.0","id":2,"method":"health"}';
  let exitCode = -1;
  await runPlugin(plugin, {
    args: [],
    isTerminal: false,
    stdin: ReadableStream.from([new TextEncoder().encode(lines)]),
    stdout,
    writeLog: () => {},
    exit: (code) => (exitCode = code),
  });
  assert.equal(exitCode, 0);
  const answers = text().trim().split("\n").map((line) => JSON.parse(line));
  assert.deepEqual(answers.find((a) => a.id === 1)?.result, {});
  assert.equal(answers.find((a) => a.id === 2)?.result?.status, "unavailable");
});
