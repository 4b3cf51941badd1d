import assert from "node:assert/strict";
import { PluginError } from "../protocol/mod.ts";
import { describePlugin } from "./describe.ts";
import {
  checkHealth,
  createChunkRouter,
  observerClient,
  routerClient,
  upstreamProviderClient,
} from "./clients.ts";
import { PluginProcess, type PluginProcessEvent } from "./process.ts";

const FIXTURE = new URL("../../tests/fixtures/echo_plugin.ts", import.meta.url).pathname;
const FROZEN = new URL("../../tests/fixtures/frozen_observer.ts", import.meta.url).pathname;
const DENO = Deno.execPath();
const ARGS = ["run", "--quiet", "--no-prompt", FIXTURE];

function start(extra: Partial<Parameters<typeof PluginProcess.start>[0]> = {}) {
  const events: PluginProcessEvent[] = [];
  const logs: Record<string, unknown>[] = [];
  const chunks = createChunkRouter();
  const ready = PluginProcess.start({
    command: DENO,
    args: ARGS,
    instance: "echo",
    capabilities: ["router", "upstream_provider"],
    config: { owner: "tests" },
    onEvent: (event) => events.push(event),
    onLog: (record) => logs.push(record),
    onNotification: chunks.dispatch,
    restart: { initialDelayMs: 50, maxDelayMs: 200 },
    ...extra,
  });
  return { ready, events, logs, chunks };
}

const route = (model: string) => ({
  model,
  identity: { groups: [] },
  request: { stream: false, estimated_tokens: 10 },
});

async function waitUntil(condition: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test("PluginProcess calls a plugin and forwards its stderr as records", async () => {
  const { ready, logs } = start();
  const plugin = await ready;
  try {
    assert.deepEqual(await routerClient(plugin).models(), {
      models: [{ id: "echo", owned_by: "tests" }],
    });
    assert.deepEqual(await routerClient(plugin).route(route("m1")), {
      routes: [{ upstream: "echo", model: "m1" }],
    });
    await waitUntil(() => logs.some((r) => r.msg === "routing"));
    const record = logs.find((r) => r.msg === "routing")!;
    assert.equal(record.instance, "echo");
    assert.equal(record.model, "m1");
    assert.equal(plugin.info?.plugin.name, "echo-fixture");
  } finally {
    await plugin.shutdown();
  }
  assert.equal(plugin.state, "stopped");
});

Deno.test("PluginProcess routes streamed chunks to the call that asked for them", async () => {
  const { ready, chunks } = start();
  const plugin = await ready;
  try {
    const upstream = upstreamProviderClient(plugin, chunks);
    const received: unknown[] = [];
    const result = await upstream.chat(
      {
        route: { upstream: "echo", model: "m" },
        request: { model: "m", messages: [] },
        stream: true,
      },
      { onChunk: (chunk) => received.push(chunk.word) },
    );
    assert.deepEqual(received, ["one", "two", "three"]);
    assert.deepEqual(result, { finish_reason: "stop" });
  } finally {
    await plugin.shutdown();
  }
});

Deno.test("PluginProcess restarts a crashed plugin with backoff and fails calls fast meanwhile", async () => {
  const { ready, events } = start();
  const plugin = await ready;
  try {
    const firstPid = plugin.pid;
    const crash = await routerClient(plugin).route(route("crash")).catch((e) => e);
    assert.ok(crash instanceof PluginError && crash.type === "unavailable", String(crash));
    await waitUntil(() => plugin.state === "restarting", 2000);
    const during = await routerClient(plugin).models().catch((e) => e);
    assert.ok(during instanceof PluginError && during.type === "unavailable");
    assert.match(during.message, /restarting/);
    await waitUntil(() => plugin.state === "ready");
    assert.notEqual(plugin.pid, firstPid);
    assert.equal(plugin.restarts, 1);
    assert.deepEqual(await routerClient(plugin).route(route("m2")), {
      routes: [{ upstream: "echo", model: "m2" }],
    });
    const types = events.map((e) => e.type);
    assert.deepEqual(types, ["ready", "exited", "restarting", "ready"]);
    const exited = events[1] as Extract<PluginProcessEvent, { type: "exited" }>;
    assert.equal(exited.code, 3);
  } finally {
    await plugin.shutdown();
  }
});

Deno.test("PluginProcess restarts after SIGKILL", async () => {
  const { ready } = start();
  const plugin = await ready;
  try {
    plugin.kill("SIGKILL");
    await waitUntil(() => plugin.state === "restarting");
    await waitUntil(() => plugin.state === "ready");
    assert.equal((await checkHealth(plugin)).status, "ok");
  } finally {
    await plugin.shutdown();
  }
});

Deno.test("PluginProcess times a call out with unavailable and keeps the plugin usable", async () => {
  const { ready } = start();
  const plugin = await ready;
  try {
    const error = await routerClient(plugin).route(route("hang"), { timeoutMs: 200 }).catch((e) =>
      e
    );
    assert.ok(error instanceof PluginError && error.type === "unavailable");
    assert.equal(error.data.reason, "timeout");
    assert.match(error.message, /No answer to "router.route" within 200 ms/);
    assert.deepEqual(await routerClient(plugin).route(route("m3")), {
      routes: [{ upstream: "echo", model: "m3" }],
    });
  } finally {
    await plugin.shutdown();
  }
});

Deno.test("PluginProcess.start() fails with the plugin's invalid_config error", async () => {
  const { ready } = start({ config: { owner: 5, extra: true } });
  const error = await ready.catch((e) => e);
  assert.ok(error instanceof PluginError && error.type === "invalid_config");
  assert.deepEqual(error.data.errors?.map((e) => e.path).sort(), ["extra", "owner"]);
});

Deno.test("PluginProcess.start() names the command it cannot spawn", async () => {
  const error = await PluginProcess.start({
    command: "/nonexistent/plugin",
    instance: "ghost",
    capabilities: ["router"],
    config: {},
  }).catch((e) => e);
  assert.ok(error instanceof PluginError && error.type === "unavailable");
  assert.match(error.message, /Cannot start plugin "ghost" from "\/nonexistent\/plugin"/);
});

Deno.test("describePlugin() times out on a binary that waits for stdin, and names a failing one", async () => {
  const dir = await Deno.makeTempDir();
  const waiting = `${dir}/reads-stdin`;
  try {
    await Deno.writeTextFile(waiting, "#!/bin/sh\ncat >/dev/null\n", { mode: 0o755 });
    await assert.rejects(
      describePlugin(waiting, { timeoutMs: 300 }),
      /Cannot describe ".*reads-stdin": no manifest within 300 ms/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  await assert.rejects(describePlugin("false"), /Cannot describe "false": it exited with code 1/);
  await assert.rejects(
    describePlugin("/nonexistent/plugin"),
    /Cannot run "\/nonexistent\/plugin --describe"/,
  );
});

/** An event of about 150 bytes, for filling a frozen plugin's pipe. */
const event = {
  type: "request.completed" as const,
  time: "2026-01-01T00:00:00Z",
  request_id: "r".repeat(100),
};

/**
 * Start the frozen observer, spawned as `deno` (the host writes through a Deno pipe) or
 * through a launcher (through a Node socket), freeze it, and queue about 1.5 MB to it: many
 * times a pipe's buffer.
 */
async function startFrozen(via: "deno" | "a launcher") {
  const dir = await Deno.makeTempDir();
  const launcher = `${dir}/frozen-observer`;
  await Deno.writeTextFile(
    launcher,
    `#!/bin/sh\nexec '${DENO}' run --quiet --no-prompt '${FROZEN}'\n`,
    { mode: 0o755 },
  );
  const events: PluginProcessEvent[] = [];
  const logs: Record<string, unknown>[] = [];
  const plugin = await PluginProcess.start({
    ...(via === "deno"
      ? { command: DENO, args: ["run", "--quiet", "--no-prompt", FROZEN] }
      : { command: launcher }),
    instance: "frozen",
    capabilities: ["observer"],
    config: {},
    restart: false,
    onEvent: (event) => events.push(event),
    onLog: (record) => logs.push(record),
  }).finally(() => Deno.remove(dir, { recursive: true }));
  try {
    const observer = observerClient(plugin);
    observer.emit({ events: [event] });
    await waitUntil(() => logs.some((record) => record.msg === "freezing"));
    for (let i = 0; i < 1000; i++) observer.emit({ events: Array(10).fill(event) });
    await new Promise((resolve) => setTimeout(resolve, 100));
  } catch (error) {
    plugin.kill("SIGKILL");
    throw error;
  }
  return { plugin, events, logs };
}

/** What the promise settles as, or "pending" when it has not within `ms`. */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<string>((resolve) => (timer = setTimeout(resolve, ms, "pending")));
  try {
    return await Promise.race([promise.then(() => "resolved", () => "rejected"), late]);
  } finally {
    clearTimeout(timer);
  }
}

for (const via of ["deno", "a launcher"] as const) {
  Deno.test(`PluginProcess.shutdown() kills a plugin that stopped reading, within its timeout, spawned as ${via}`, async () => {
    const { plugin, events } = await startFrozen(via);
    try {
      const started = performance.now();
      assert.equal(await settledWithin(plugin.shutdown({ timeoutMs: 500 }), 5000), "resolved");
      const took = performance.now() - started;
      assert.ok(took >= 500 && took < 2500, `shutdown took ${took} ms`);
      assert.equal(plugin.state, "stopped");
      assert.equal(plugin.pid, undefined);
      const exited = events.find((e) => e.type === "exited");
      assert.equal(exited?.type === "exited" && exited.signal, "SIGKILL");
    } finally {
      plugin.kill("SIGKILL");
    }
  });

  Deno.test(`PluginProcess fails a call at once when a plugin that stopped reading is killed, spawned as ${via}`, async () => {
    const { plugin } = await startFrozen(via);
    try {
      const call = plugin.request("health", undefined, { timeoutMs: 30_000 });
      call.catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 50));
      plugin.kill("SIGKILL");
      assert.equal(await settledWithin(call, 3000), "rejected");
      const error = await call.catch((e) => e);
      assert.ok(error instanceof PluginError && error.type === "unavailable", String(error));
      assert.equal(error.data.reason, "closed");
      await waitUntil(() => plugin.state === "stopped", 3000);
      assert.equal(await settledWithin(plugin.shutdown({ timeoutMs: 500 }), 3000), "resolved");
    } finally {
      plugin.kill("SIGKILL");
    }
  });
}

Deno.test("PluginProcess stops queueing past 64 MiB for a plugin that stopped reading: further sends are refused", async () => {
  const { plugin, logs } = await startFrozen("a launcher");
  try {
    const observer = observerClient(plugin);
    const batch = { events: Array(1000).fill(event) }; // ~150 KB a notification
    const refusals = () => logs.filter((r) => /observer\.emit.*not reading/.test(String(r.msg)));
    for (let i = 0; i < 600 && refusals().length === 0; i++) {
      observer.emit(batch);
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    assert.ok(refusals().length > 0, "emits past 64 MiB were still queued");
    // Past the cap every further emit is refused, none queued; the host reports the run once
    // and again every 1000.
    for (let i = 0; i < 999; i++) observer.emit(batch);
    await waitUntil(() => refusals().some((r) => /\(1000 in a row\)/.test(String(r.msg))), 5000);
    assert.equal(refusals().length, 2);
    assert.equal(refusals()[0]!.level, "warn");
  } finally {
    plugin.kill("SIGKILL");
  }
});

Deno.test("PluginProcess.start() gives up within startTimeoutMs on a plugin that never reads its config", async () => {
  const dir = await Deno.makeTempDir();
  const deaf = `${dir}/deaf`;
  const pids = [`${dir}/sh.pid`, `${dir}/deno.pid`];
  try {
    await Deno.writeTextFile(deaf, `#!/bin/sh\necho $$ > '${pids[0]}'\nexec sleep 60\n`, {
      mode: 0o755,
    });
    const script = `Deno.writeTextFileSync(${JSON.stringify(pids[1])}, String(Deno.pid));` +
      "setInterval(() => {}, 1000);";
    // An initialize larger than a pipe's buffer: it can never be written whole.
    const config = { blob: "x".repeat(1 << 20) };
    for (const command of [{ command: deaf }, { command: DENO, args: ["eval", script] }]) {
      const started = PluginProcess.start({
        ...command,
        instance: "deaf",
        capabilities: ["router"],
        config,
        startTimeoutMs: 300,
        onLog: () => {},
      });
      started.catch(() => {});
      assert.equal(await settledWithin(started, 5000), "rejected", command.command);
      const error = await started.catch((e) => e);
      assert.ok(error instanceof PluginError && error.type === "unavailable", String(error));
    }
  } finally {
    for (const file of pids) {
      try {
        Deno.kill(Number(await Deno.readTextFile(file)), "SIGKILL");
      } catch { /* never started, or gone */ }
    }
    await Deno.remove(dir, { recursive: true });
  }
});
