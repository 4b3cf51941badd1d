/**
 * ratelimit-redis over a half-open connection: a relay in front of a real redis-server stops
 * forwarding on the connections it holds, without closing them, as when the server or a
 * middlebox vanishes without a reset. The plugin must replace the connection rather than pay
 * `command_timeout_ms` on every call until the kernel gives up.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createClient } from "redis";
import type { AcquireResult } from "@vulpes/contract/capabilities";
import type { PluginError, PluginInstance } from "@vulpes/contract/plugin";
import {
  createTestCall,
  createTestContext,
  startRedis,
  startSentinel,
  type TestContext,
} from "@vulpes/contract/testing";
import { STUCK_AFTER } from "./_redis.ts";
import { configSchema } from "./config.ts";
import { plugin } from "./mod.ts";

const call = createTestCall();
const RULES = [{ name: "rpm", window: "1m", requests: 1000, tokens: 1_000_000 }];
const REPLACING = "Redis stopped answering: replacing the connection";

/** A TCP relay on 127.0.0.1 whose connections can be made to go silent, and stay open. */
interface StallingProxy {
  port: number;
  /**
   * The connections open now forward nothing more, either way, and are never closed (what
   * arrives is read and dropped). New connections are forwarded when `next` is `"forward"`,
   * else silenced too.
   */
  stall(next: "forward" | "stall"): void;
  /** New connections are forwarded again; the silenced ones stay silent. */
  heal(): void;
  [Symbol.asyncDispose](): Promise<void>;
}

function startStallingProxy(targetPort: number): StallingProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const links = new Set<{ silent: boolean; conns: Deno.Conn[] }>();
  const running = new Set<Promise<void>>();
  let silenceNew = false;

  async function pump(link: { silent: boolean }, from: Deno.Conn, to: Deno.Conn) {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (let read = await from.read(buffer); read !== null; read = await from.read(buffer)) {
        if (!link.silent) await to.write(buffer.subarray(0, read));
      }
    } catch { /* closed */ }
  }

  async function relay(client: Deno.Conn): Promise<void> {
    const link = { silent: silenceNew, conns: [client] };
    links.add(link);
    try {
      const server = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
      link.conns.push(server);
      await Promise.all([pump(link, client, server), pump(link, server, client)]);
    } catch { /* closed */ }
    for (const conn of link.conns) close(conn);
    links.delete(link);
  }

  const accepting = (async () => {
    try {
      for await (const client of listener) {
        const work = relay(client);
        running.add(work);
        work.finally(() => running.delete(work));
      }
    } catch { /* the listener closed */ }
  })();

  return {
    port: (listener.addr as Deno.NetAddr).port,
    stall(next) {
      for (const link of links) link.silent = true;
      silenceNew = next === "stall";
    },
    heal() {
      silenceNew = false;
    },
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const link of links) link.conns.forEach(close);
      await accepting;
      await Promise.all(running);
    },
  };
}

function close(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}

async function instance(
  url: string,
  config: Record<string, unknown>,
): Promise<PluginInstance & { logs: TestContext["logs"] }> {
  const context = createTestContext();
  const parsed = configSchema.parse({
    url,
    rules: RULES,
    prefix: `t${crypto.randomUUID()}:`,
    command_timeout_ms: 200,
    connect_timeout_ms: 300,
    reconnect_max_ms: 200,
    ...config,
  });
  return Object.assign(await plugin.create(parsed, context), { logs: context.logs });
}

async function acquire(limits: PluginInstance): Promise<AcquireResult> {
  return await limits.rate_limiter!.acquire(
    { subject: "alice", model: "m", estimated_tokens: 1 },
    call,
  );
}

/** What `work` rejects with, as a plugin error; fails when it answers. */
async function unavailable(work: Promise<unknown>): Promise<PluginError> {
  const error = await work.then(() => null, (e: PluginError) => e);
  assert.ok(error !== null, "expected a rejection, got an answer");
  assert.equal(error.type, "unavailable", String(error));
  return error;
}

/** Calls `check` until it returns true, every 50 ms, at most 10 s. */
async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  const until = performance.now() + 10_000;
  while (!await check().catch(() => false)) {
    if (performance.now() > until) throw new Error(`${what} did not happen within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await work();
  return [result, performance.now() - started];
}

function replacementLogs(limits: { logs: TestContext["logs"] }): number {
  return limits.logs.filter((line) => line.msg === REPLACING).length;
}

Deno.test("acquire() fails fast once a half-open connection is replaced, and uses Redis again when a new one works", async () => {
  const password = "half-open-secret";
  await using redis = await startRedis({ password });
  await using proxy = startStallingProxy(redis.port);
  const url = `redis://:${password}@127.0.0.1:${proxy.port}`;
  const local = await instance(url, { fallback: { mode: "local" } });
  const strict = await instance(url, {});
  try {
    assert.match((await acquire(local)).reservation ?? "", /^r/, "counted in Redis");
    assert.equal((await acquire(strict)).allowed, true);

    // Redis vanished: the connections stay open and go silent, and so does every new one.
    proxy.stall("stall");
    for (let i = 0; i < STUCK_AFTER; i++) {
      const [answer, ms] = await timed(() => acquire(local));
      assert.match(answer.reservation ?? "", /^local\./, "counted in this process");
      assert.ok(ms >= 150, `call ${i + 1} waited command_timeout_ms, not ${ms} ms`);
      const refused = await unavailable(acquire(strict));
      assert.match(refused.message, /no answer within command_timeout_ms \(200 ms\)/);
    }
    for (const limits of [local, strict]) assert.equal(replacementLogs(limits), 1);

    // The replacement cannot open either (its handshake gets no answer): calls fail at once,
    // through more than one attempt to open one (500 ms each).
    const errors: string[] = [];
    const [, ms] = await timed(async () => {
      for (let i = 0; i < 10; i++) {
        assert.match((await acquire(local)).reservation ?? "", /^local\./);
        errors.push((await unavailable(acquire(strict))).message);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    });
    assert.ok(ms < 2500, `20 calls over 1000 ms of pauses took ${ms} ms, not 20 × 200 ms more`);
    assert.equal((await local.health!()).status, "degraded");
    assert.equal((await strict.health!()).status, "unavailable");
    for (const limits of [local, strict]) {
      assert.equal(replacementLogs(limits), 1, "logged once per replacement, not per attempt");
    }

    // A new connection works again: both use Redis, without restarting.
    proxy.heal();
    await eventually(
      "an acquire counted in Redis",
      async () => /^r/.test((await acquire(local)).reservation ?? ""),
    );
    await eventually("an acquire answered by Redis", async () => (await acquire(strict)).allowed);
    for (const limits of [local, strict]) {
      const health = await limits.health!();
      assert.equal(health.status, "ok");
      assert.equal(health.detail?.connection_replacements, 1);
      assert.ok(limits.logs.some((line) => line.msg === "Redis connection restored"));
    }
    const seen = JSON.stringify([local.logs, strict.logs, errors]);
    assert.doesNotMatch(seen, new RegExp(`${password}|redis://`), "no password or URL");
  } finally {
    await Promise.all([local.close!(), strict.close!()]);
  }
});

/** Acquires through Redis, silences the relay's connections, and waits for a replacement. */
async function stallAndRecover(
  proxy: StallingProxy,
  url: string,
  config: Record<string, unknown>,
): Promise<void> {
  const limits = await instance(url, config);
  try {
    assert.equal((await acquire(limits)).allowed, true);
    proxy.stall("forward");
    for (let i = 0; i < STUCK_AFTER; i++) {
      const refused = await unavailable(acquire(limits));
      assert.match(refused.message, /no answer within command_timeout_ms/);
    }
    assert.equal(replacementLogs(limits), 1);
    await eventually("an acquire answered by Redis", async () => (await acquire(limits)).allowed);
    assert.equal((await limits.health!()).detail?.connection_replacements, 1);
  } finally {
    await limits.close!();
  }
}

Deno.test("acquire() replaces a half-open connection in cluster mode", async () => {
  await using redis = await startRedis({ args: ["--cluster-enabled", "yes"] });
  await using proxy = startStallingProxy(redis.port);
  const admin = createClient({ url: redis.url });
  await admin.connect();
  try {
    // One node with every slot, announcing the relay's port, so the client goes through it.
    await admin.sendCommand(["CONFIG", "SET", "cluster-announce-port", String(proxy.port)]);
    await admin.sendCommand(["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]);
    await eventually(
      "cluster_state:ok",
      async () => String(await admin.sendCommand(["CLUSTER", "INFO"])).includes("cluster_state:ok"),
    );
  } finally {
    admin.destroy();
  }
  await stallAndRecover(proxy, `redis://127.0.0.1:${proxy.port}`, { mode: "cluster" });
});

Deno.test("acquire() replaces a half-open connection to the master in sentinel mode", async () => {
  await using redis = await startRedis();
  await using proxy = startStallingProxy(redis.port);
  // A sentinel that monitors the master through the relay names the relay to clients.
  await using sentinel = await startSentinel({ ...redis, port: proxy.port });
  await stallAndRecover(proxy, sentinel.url, {
    mode: "sentinel",
    sentinel: { master_name: sentinel.masterName },
  });
});
