/**
 * For the process tests only: starting bin/cache-redis as the core does, waiting for it to
 * connect, a raw Redis client to look at what it wrote, and shared fixtures.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createClient, RESP_TYPES } from "redis";
import { checkHealth, PluginProcess } from "@vulpes/contract/host";
import { PluginError } from "@vulpes/contract/protocol";
import type { TestRedis } from "@vulpes/contract/testing";
import { pluginBinary } from "../../tests/_support.ts";

/** bin/cache-redis. */
export const BINARY: string = pluginBinary("cache-redis");
/** A Redis password the tests look for in every output. */
export const PASSWORD = "redis-Secret-pw-7731";

/** Log records of a plugin process. */
export type Logs = Record<string, unknown>[];

/** Start bin/cache-redis with `config`, its log records going to `logs`. */
export async function start(
  config: Record<string, unknown>,
  logs: Logs = [],
): Promise<PluginProcess> {
  return await PluginProcess.start({
    command: BINARY,
    instance: "cache",
    capabilities: ["cache_provider"],
    config,
    onLog: (record) => logs.push(record),
    restart: false,
    // Far above command_timeout_ms: a call that hangs fails as the host's timeout, not ours.
    callTimeoutMs: 15_000,
  });
}

/** Polls until `check` gives a value; fails after `ms` (a bound for a broken plugin, not a timing). */
export async function eventually<T>(check: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`Condition not met within ${ms} ms; last error: ${last}`);
}

/** Waits until the plugin has connected (its first calls may come before). */
export async function connected(plugin: PluginProcess): Promise<void> {
  await eventually(async () => (await checkHealth(plugin)).status === "ok" || undefined);
}

/** A raw client of `redis`, to look at what the plugin wrote. */
export async function inspect(redis: TestRedis) {
  const client = createClient({ url: redis.url });
  client.on("error", () => {});
  await client.connect();
  return {
    client,
    binary: client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }),
    async close() {
      await client.close();
    },
  };
}

/** The `unavailable` plugin error `promise` rejects with. */
export async function unavailable(promise: Promise<unknown>): Promise<PluginError> {
  const error = await promise.then(() => null, (e) => e);
  assert.ok(error instanceof PluginError, String(error));
  assert.equal(error.type, "unavailable", error.message);
  return error;
}

/** A chat completion of about 2.6 KB (over compress_min_bytes). */
export const completion = {
  id: "chatcmpl-1",
  object: "chat.completion",
  model: "gpt-4o",
  choices: [{ index: 0, message: { role: "assistant", content: "Bonjour ☀️ ".repeat(200) } }],
  usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
};
