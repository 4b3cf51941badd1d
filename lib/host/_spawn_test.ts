import assert from "node:assert/strict";
import { runsDeno, type SpawnedProcess, spawnProcess } from "./_spawn.ts";

const DENO = Deno.execPath();

async function script(dir: string, name: string, body: string): Promise<string> {
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return path;
}

async function readAll(chunks: AsyncIterable<Uint8Array>): Promise<string> {
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of chunks) text += decoder.decode(chunk, { stream: true });
  return text;
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "vulpes-spawn-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** What a `deno run --no-prompt` with no permission flag may do, as the probe reports it. */
async function permissionsOf(child: SpawnedProcess): Promise<Record<string, string>> {
  await child.stdin.close?.();
  const [text, status] = await Promise.all([readAll(child.stdout), child.status]);
  assert.equal(status.code, 0, text);
  return JSON.parse(text);
}

const PROBE = `console.log(JSON.stringify(Object.fromEntries(
  ["read", "write", "net", "env", "run"].map((name) => [name, Deno.permissions.querySync({ name }).state]),
)));`;

Deno.test("runsDeno() picks out command lines that Deno's node:child_process would rewrite", () => {
  assert.equal(runsDeno({ command: DENO, args: ["run", "plugin.ts"] }), true);
  assert.equal(runsDeno({ command: "/usr/bin/env", args: [DENO, "run", "plugin.ts"] }), true);
  assert.equal(runsDeno({ command: "/bin/sh", args: ["-c", "deno run plugin.ts"] }), true);
  assert.equal(runsDeno({ command: "/opt/vulpes/bin/router-weighted", args: [] }), false);
  assert.equal(runsDeno({ command: "./plugin", args: ["--describe"] }), false);
});

Deno.test("a plugin without permission flags gets none, whether run by deno itself or by a launcher", async () => {
  await withDir(async (dir) => {
    const probe = `${dir}/probe.ts`;
    await Deno.writeTextFile(probe, PROBE);
    const launcher = await script(
      dir,
      "probe",
      `exec '${DENO}' run --quiet --no-prompt '${probe}'`,
    );
    const none = { read: "prompt", write: "prompt", net: "prompt", env: "prompt", run: "prompt" };
    const direct = await spawnProcess({
      command: DENO,
      args: ["run", "--quiet", "--no-prompt", probe],
    });
    assert.deepEqual(await permissionsOf(direct), none);
    assert.deepEqual(
      await permissionsOf(await spawnProcess({ command: launcher, args: [] })),
      none,
    );
  });
});

Deno.test("spawnProcess() pipes stdin to stdout and stderr, and reports the exit code", async () => {
  await withDir(async (dir) => {
    const command = await script(dir, "echo", "cat; echo done >&2; exit 3");
    const child = await spawnProcess({ command, args: [] });
    const line = new TextEncoder().encode('{"jsonrpc":"2.0","method":"x"}\n');
    assert.equal(await child.stdin.write(line), line.length);
    await child.stdin.close?.();
    const [out, err, status] = await Promise.all([
      readAll(child.stdout),
      readAll(child.stderr),
      child.status,
    ]);
    assert.equal(out, '{"jsonrpc":"2.0","method":"x"}\n');
    assert.equal(err, "done\n");
    assert.deepEqual(status, { code: 3, signal: null });
  });
});

Deno.test("spawnProcess() reports a process ended by a signal as 128 + its number", async () => {
  await withDir(async (dir) => {
    const child = await spawnProcess({
      command: await script(dir, "wait", "exec sleep 30"),
      args: [],
    });
    child.kill("SIGTERM");
    assert.deepEqual(await child.status, { code: 143, signal: "SIGTERM" });
    child.kill("SIGKILL"); // gone: nothing happens
  });
});

Deno.test("spawnProcess() adds env to the host's environment", async () => {
  await withDir(async (dir) => {
    const command = await script(dir, "env", 'printf "%s %s" "$VULPES_SPAWN_TEST" "${PATH:+path}"');
    const child = await spawnProcess({ command, args: [], env: { VULPES_SPAWN_TEST: "yes" } });
    assert.equal(await readAll(child.stdout), "yes path");
    await child.status;
  });
});

Deno.test("spawnProcess() rejects a command that cannot be started, naming why", async () => {
  await assert.rejects(
    () => spawnProcess({ command: "/nonexistent/vulpes-plugin", args: [] }),
    /ENOENT|No such file|not found/i,
  );
});
