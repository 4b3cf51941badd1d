import assert from "node:assert/strict";
import { createClient } from "redis";
import { startRedis } from "./redis.ts";

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
