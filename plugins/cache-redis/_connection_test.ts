import assert from "node:assert/strict";
import { PluginError } from "@vulpes/contract/plugin";
import { createTestContext } from "@vulpes/contract/testing";
import type { Backend } from "./_backend.ts";
import { RedisConnection, STUCK_AFTER, withoutSecrets } from "./_connection.ts";
import { CommandTimeoutError } from "./_deadline.ts";

/** A backend whose readiness, connect outcome and command outcome the test sets. */
class FakeBackend implements Backend {
  ready = false;
  closed = false;
  connectResult: Promise<void> = Promise.resolve();
  next: () => Promise<unknown> = () => Promise.resolve(null);
  constructor(readonly hooks: { onError: (e: unknown) => void; onReady: () => void }) {}
  async connect() {
    await this.connectResult;
    this.ready = true;
    this.hooks.onReady();
  }
  get() {
    return this.next() as Promise<Uint8Array | null>;
  }
  set() {
    return this.next() as Promise<void>;
  }
  delete() {
    return this.next() as Promise<boolean>;
  }
  deleteMatching() {
    return this.next() as Promise<number>;
  }
  ping() {
    return this.next() as Promise<void>;
  }
  close() {
    this.closed = true;
    this.ready = false;
    return Promise.resolve();
  }
}

function setup(firstConnect?: Promise<void>) {
  const context = createTestContext();
  const backends: FakeBackend[] = [];
  const connection = new RedisConnection({
    create: (hooks) => {
      const backend = new FakeBackend(hooks);
      if (backends.length === 0 && firstConnect) backend.connectResult = firstConnect;
      backends.push(backend);
      return backend;
    },
    logger: context.logger,
    nodes: ["10.0.0.1:6379"],
    secrets: ["hunter2", "p@ss word"],
    reconnectMaxDelayMs: 10,
    random: context.random,
  });
  return { connection, backends, logs: context.logs };
}

async function failure(promise: Promise<unknown>): Promise<PluginError> {
  const error = await promise.then(() => null, (e) => e);
  assert.ok(error instanceof PluginError, String(error));
  return error;
}

Deno.test("withoutSecrets() cuts every secret, raw and URL-encoded", () => {
  assert.equal(
    withoutSecrets("AUTH hunter2 failed for redis://:p%40ss%20word@h", ["hunter2", "p@ss word"]),
    "AUTH [redacted] failed for redis://:[redacted]@h",
  );
  assert.equal(withoutSecrets("nothing here", ["", "x y"]), "nothing here");
});

Deno.test("run() answers unavailable with reason disconnected while not connected", async () => {
  const { connection, backends, logs } = setup(new Promise(() => {}));
  connection.start();
  backends[0]!.hooks.onError(new Error("connect ECONNREFUSED 10.0.0.1:6379"));
  backends[0]!.hooks.onError(new Error("connect ECONNREFUSED 10.0.0.1:6379"));
  backends[0]!.next = () => Promise.reject(new Error("The client is offline"));
  const error = await failure(connection.run("read the cache", (b) => b.get("k")));
  assert.equal(error.type, "unavailable");
  assert.deepEqual(error.data, { reason: "disconnected", type: "unavailable" });
  assert.equal(
    error.message,
    "Cannot read the cache: not connected to Redis (10.0.0.1:6379): connect ECONNREFUSED 10.0.0.1:6379",
  );
  const warnings = logs.filter((record) => record.level === "warn");
  assert.equal(warnings.length, 1, "one line for many failed attempts");
  assert.equal(warnings[0]!.msg, "cannot connect to Redis; retrying");
  assert.deepEqual(connection.status(), {
    connected: false,
    replaced: 0,
    failures: 1,
    timeouts: 0,
    last_error: "connect ECONNREFUSED 10.0.0.1:6379",
  });
  await connection.close();
});

Deno.test("run() names a refusal from Redis without the secrets in it", async () => {
  const { connection, backends } = setup();
  connection.start();
  await connection.run("ping", (b) => b.connect());
  backends[0]!.next = () => Promise.reject(new Error("WRONGPASS hunter2 p%40ss%20word"));
  const error = await failure(
    connection.run("store in the cache", (b) => b.set("k", new Uint8Array(), 1)),
  );
  assert.equal(
    error.message,
    "Cannot store in the cache: Redis (10.0.0.1:6379) answered: WRONGPASS [redacted] [redacted]",
  );
  assert.equal(error.data.reason, "error");
  await connection.close();
});

Deno.test("run() answers unavailable with reason timeout, and a stuck backend is replaced", async () => {
  const { connection, backends, logs } = setup();
  connection.start();
  await connection.run("ping", (b) => b.connect());
  backends[0]!.next = () => Promise.reject(new CommandTimeoutError(500));
  for (let i = 1; i < STUCK_AFTER; i++) {
    const error = await failure(connection.run("read the cache", (b) => b.get("k")));
    assert.equal(
      error.message,
      "Cannot read the cache: Redis (10.0.0.1:6379) did not answer within 500 ms",
    );
    assert.equal(error.data.reason, "timeout");
  }
  assert.equal(backends.length, 1, "not replaced before STUCK_AFTER timeouts in a row");
  await failure(connection.run("read the cache", (b) => b.get("k")));
  assert.equal(backends.length, 2);
  assert.equal(backends[0]!.closed, true);
  assert.ok(logs.some((record) => record.msg === "Redis stopped answering; reconnecting"));
  await Promise.resolve();
  assert.equal(await connection.run("read the cache", (b) => b.get("k")), null);
  assert.deepEqual(connection.status(), {
    connected: true,
    replaced: 1,
    failures: 3,
    timeouts: 3,
    last_error: "no answer within 500 ms",
  });
  await connection.close();
});

Deno.test("a success between timeouts keeps the backend", async () => {
  const { connection, backends } = setup();
  connection.start();
  await connection.run("ping", (b) => b.connect());
  for (let round = 0; round < 3; round++) {
    backends[0]!.next = () => Promise.reject(new CommandTimeoutError(5));
    for (let i = 1; i < STUCK_AFTER; i++) await failure(connection.run("get", (b) => b.get("k")));
    backends[0]!.next = () => Promise.resolve(null);
    await connection.run("get", (b) => b.get("k"));
  }
  assert.equal(backends.length, 1);
  await connection.close();
});

Deno.test("a backend that cannot connect is replaced after a pause, until one connects", async () => {
  let refuse!: (error: Error) => void;
  const { connection, backends, logs } = setup(new Promise((_, reject) => (refuse = reject)));
  connection.start();
  refuse(new Error("Cluster discovery failed: connect ECONNREFUSED"));
  while (backends.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(backends[0]!.closed, true);
  while (!connection.status().connected) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.deepEqual(logs.map((record) => record.msg), [
    "cannot connect to Redis; retrying",
    "connected to Redis",
  ]);
  await connection.close();
  assert.equal(backends[1]!.closed, true);
  const closed = await failure(connection.run("read the cache", (b) => b.get("k")));
  assert.equal(closed.data.reason, "closed");
});

Deno.test("run() passes a cancellation on as it is, not as unavailable", async () => {
  const { connection } = setup();
  connection.start();
  const controller = new AbortController();
  const reason = new Error("cancelled");
  controller.abort(reason);
  const error = await connection.run("get", () => Promise.reject(reason), controller.signal).catch(
    (e) => e,
  );
  assert.equal(error, reason);
  assert.equal(connection.status().failures, 0);
  await connection.close();
});

Deno.test("a lost connection is logged once, and its return once", async () => {
  const { connection, backends, logs } = setup();
  connection.start();
  await connection.run("ping", (b) => b.connect());
  for (let i = 0; i < 5; i++) backends[0]!.hooks.onError(new Error("Socket closed unexpectedly"));
  backends[0]!.hooks.onReady();
  assert.deepEqual(logs.map((record) => [record.level, record.msg]), [
    ["info", "connected to Redis"],
    ["warn", "lost the connection to Redis; reconnecting"],
    ["info", "connected to Redis"],
  ]);
  await connection.close();
});
