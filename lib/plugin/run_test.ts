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

const BUGGY = new URL("../../tests/fixtures/buggy_plugin.ts", import.meta.url).pathname;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

/** Run the buggy fixture as a process, trigger one bug, and collect how it ended. */
async function runBug(bug: "reject" | "throw") {
  const password = "pw-7f3a9c1e-never-logged";
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-prompt", "--config", CONFIG, BUGGY],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const send = (message: unknown) =>
    writer.write(new TextEncoder().encode(JSON.stringify(message) + "\n"));
  await send({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: {
      protocol_version: "1",
      instance: "buggy",
      capabilities: ["authenticator"],
      config: { password },
      settings: { capture_payloads: false },
    },
  });
  // The host waits for initialize's answer before calling.
  const answers = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes('"id":1')) {
    const { value, done } = await answers.read();
    if (done) break;
    seen += value;
  }
  await send({
    jsonrpc: "2.0",
    id: 2,
    method: "authn.authenticate",
    params: { credentials: { api_key: bug }, request: { method: "GET", path: "/v1/models" } },
  });
  const output = Promise.all([
    new Response(child.stderr).text(),
    (async () => {
      while (!(await answers.read()).done);
    })(),
  ]);
  // A plugin that survived the bug would wait for more input: end it, and the test fails.
  const timer = setTimeout(() => writer.close().catch(() => {}), 10_000);
  const status = await child.status;
  clearTimeout(timer);
  await writer.close().catch(() => {});
  const [stderr] = await output;
  return { code: status.code, stderr, password };
}

for (const bug of ["reject", "throw"] as const) {
  Deno.test(`runPlugin() ends the process on an uncaught error (${bug}) with a redacted JSON log line and exit 70`, async () => {
    const { code, stderr, password } = await runBug(bug);
    assert.equal(code, 70, stderr);
    assert.ok(!stderr.includes(password), `the secret leaked:\n${stderr}`);
    const line = stderr.split("\n").filter(Boolean).map((l) => JSON.parse(l))
      .find((l) => l.level === "error");
    assert.ok(line, stderr);
    assert.match(line.msg, /uncaught error/);
    assert.equal(line.plugin, "buggy-fixture");
    assert.equal(line.instance, "buggy");
    assert.match(line.error, /cannot reach postgres:\/\/app:\[redacted\]@db/);
  });
}

Deno.test("a plugin run by hand answers with stdin or stdout a file, not only a pipe", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const calls = `${dir}/calls.jsonl`;
    await Deno.writeTextFile(
      calls,
      '{"jsonrpc":"2.0","id":1,"method":"health"}\n{"jsonrpc":"2.0","id":2,"method":"shutdown"}\n',
    );
    const plugin = `'${Deno.execPath()}' run --quiet --no-prompt --config '${CONFIG}' '${BUGGY}'`;
    const ways = {
      "file in, file out": `${plugin} < '${calls}' > '${dir}/out'`,
      "pipe in, file out": `cat '${calls}' | ${plugin} > '${dir}/out'`,
      "file in, pipe out": `${plugin} < '${calls}' | cat > '${dir}/out'`,
    };
    for (const [way, line] of Object.entries(ways)) {
      const { code, stderr } = await new Deno.Command("sh", { args: ["-c", line], stderr: "piped" })
        .output();
      const errors = new TextDecoder().decode(stderr);
      assert.equal(code, 0, `${way}: ${errors}`);
      const answers = (await Deno.readTextFile(`${dir}/out`)).trim().split("\n")
        .map((text) => JSON.parse(text));
      assert.deepEqual(answers.map((a) => a.id), [1, 2], `${way}: ${errors}`);
      assert.doesNotMatch(errors, /Transport error/, way);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
