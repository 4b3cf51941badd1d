import assert from "node:assert/strict";
import { createClient } from "redis";
import { startRedis, startSentinel } from "./redis.ts";

async function withClient<T>(
  url: string,
  use: (client: ReturnType<typeof createClient>) => Promise<T>,
): Promise<T> {
  const client = createClient({
    url,
    socket: { connectTimeout: 2_000, reconnectStrategy: false },
  });
  client.on("error", () => {});
  await client.connect();
  try {
    return await use(client);
  } finally {
    client.destroy();
  }
}

Deno.test("startRedis() serves a server that stop() cuts and start() brings back empty", async () => {
  const redis = await startRedis();
  try {
    assert.equal(redis.url, `redis://127.0.0.1:${redis.port}`);
    assert.equal(redis.password, undefined);
    await withClient(redis.url, async (client) => {
      await client.set("k", "v");
      assert.equal(await client.get("k"), "v");
      assert.deepEqual({ ...await client.configGet("save") }, { save: "" });
      assert.deepEqual({ ...await client.configGet("appendonly") }, { appendonly: "no" });
      assert.deepEqual({ ...await client.configGet("bind") }, { bind: "127.0.0.1" });
    });

    await redis.stop();
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: redis.port }));
    await redis.start();
    await withClient(redis.url, async (client) => {
      assert.equal(await client.get("k"), null);
    });
  } finally {
    await redis.close();
  }
  await redis.close();
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: redis.port }));
});

Deno.test("startRedis() requires the password it was given and puts it in the url", async () => {
  const redis = await startRedis({ password: "p@ss word" });
  try {
    assert.equal(redis.password, "p@ss word");
    assert.equal(redis.url, `redis://:p%40ss%20word@127.0.0.1:${redis.port}`);
    await withClient(redis.url, async (client) => {
      assert.equal(await client.ping(), "PONG");
    });
    await withClient(`redis://127.0.0.1:${redis.port}`, async (client) => {
      await assert.rejects(client.ping(), /NOAUTH/);
    });
  } finally {
    await redis.close();
  }
});

Deno.test("startRedis() passes extra arguments to redis-server", async () => {
  const redis = await startRedis({ args: ["--maxmemory", "10mb"] });
  try {
    await withClient(redis.url, async (client) => {
      assert.deepEqual({ ...await client.configGet("maxmemory") }, { maxmemory: "10485760" });
    });
  } finally {
    await redis.close();
  }
});

/** `SENTINEL MASTER name` as field → value. */
async function masterState(url: string, name: string): Promise<Record<string, string>> {
  return await withClient(url, async (client) => {
    const flat = await client.sendCommand(["SENTINEL", "MASTER", name]) as string[];
    const state: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) state[flat[i]!] = flat[i + 1]!;
    return state;
  });
}

Deno.test("startSentinel() names the master it watches, under the name it was given", async () => {
  const master = await startRedis();
  try {
    const sentinel = await startSentinel(master, { name: "cache-1" });
    try {
      assert.equal(sentinel.url, `redis://127.0.0.1:${sentinel.port}`);
      assert.equal(sentinel.masterName, "cache-1");
      assert.notEqual(sentinel.port, master.port);
      await withClient(sentinel.url, async (client) => {
        assert.deepEqual(
          await client.sendCommand(["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "cache-1"]),
          ["127.0.0.1", String(master.port)],
        );
      });
    } finally {
      await sentinel.close();
    }
    await sentinel.close();
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: sentinel.port }));
    // The master is left running.
    await withClient(master.url, async (client) => assert.equal(await client.ping(), "PONG"));
  } finally {
    await master.close();
  }
});

Deno.test("startSentinel() logs in to a master with a password that needs quoting", async () => {
  const master = await startRedis({ password: 'p@ss "word" \\ é' });
  try {
    const sentinel = await startSentinel(master);
    try {
      assert.equal(sentinel.masterName, "vulpes");
      // The master's run id comes with its INFO reply, which it only gives once logged in.
      const deadline = Date.now() + 10_000;
      let state = await masterState(sentinel.url, "vulpes");
      while (!state.runid && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        state = await masterState(sentinel.url, "vulpes");
      }
      assert.match(state.runid ?? "", /^[0-9a-f]{40}$/, `sentinel state: ${JSON.stringify(state)}`);
      assert.equal(state.flags, "master");
    } finally {
      await sentinel.close();
    }
  } finally {
    await master.close();
  }
});

Deno.test("startSentinel() rejects a master name that the config file cannot hold", async () => {
  const master = await startRedis();
  try {
    await assert.rejects(
      startSentinel(master, { name: "my master" }),
      /Invalid sentinel master name "my master": use only letters, digits/,
    );
  } finally {
    await master.close();
  }
});

Deno.test("startRedis() and startSentinel() are closed when an `await using` block throws", async () => {
  let ports: number[] = [];
  let dir = "";
  await assert.rejects(
    async () => {
      await using master = await startRedis();
      await using sentinel = await startSentinel(master);
      ports = [master.port, sentinel.port];
      dir = await withClient(master.url, async (client) => (await client.configGet("dir")).dir!);
      await Deno.stat(dir);
      throw new Error("the test failed");
    },
    /the test failed/,
  );
  assert.equal(ports.length, 2);
  for (const port of ports) {
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port }));
  }
  await assert.rejects(Deno.stat(dir), Deno.errors.NotFound);
});
