/**
 * Test helpers of upstream-codex: bin/upstream-codex started against a fake OpenAI server,
 * with everything closed at the end. Used by the process and client tests only.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type ChunkRouter,
  createChunkRouter,
  PluginProcess,
  type UpstreamProviderClient,
  upstreamProviderClient,
} from "@vulpes/contract/host";
import { type FakeOpenAI, type FakeOpenAIOptions, startFakeOpenAI } from "@vulpes/contract/testing";
import type { Usage } from "@vulpes/contract/capabilities";
import { pluginBinary } from "../../tests/_support.ts";

/** The API key the fake server requires; it must never reach the log. */
export const API_KEY = "sk-codex-test-key-0123456789";

/** A running plugin and its fake upstream. */
export interface Harness {
  fake: FakeOpenAI;
  plugin: PluginProcess;
  chunks: ChunkRouter;
  client: UpstreamProviderClient;
  logs: Record<string, unknown>[];
}

/** The plugin's config for a fake server, with extra fields. */
export function configFor(fake: FakeOpenAI, extra: Record<string, unknown> = {}) {
  return { base_url: `${fake.url}/v1`, api_key: API_KEY, ...extra };
}

/**
 * Run `fn` with bin/upstream-codex talking to a fresh fake server; shut both down after, and
 * check that the API key never reached the log.
 */
export async function withPlugin(
  fn: (harness: Harness) => Promise<void>,
  options: { config?: Record<string, unknown>; fake?: FakeOpenAIOptions } = {},
): Promise<void> {
  const fake = await startFakeOpenAI({ apiKey: API_KEY, ...options.fake });
  const chunks = createChunkRouter();
  const logs: Record<string, unknown>[] = [];
  let plugin: PluginProcess | undefined;
  try {
    plugin = await PluginProcess.start({
      command: pluginBinary("upstream-codex"),
      instance: "codex",
      capabilities: ["upstream_provider"],
      config: configFor(fake, options.config),
      onLog: (record) => logs.push(record),
      onNotification: chunks.dispatch,
      restart: false,
    });
    await fn({ fake, plugin, chunks, client: upstreamProviderClient(plugin, chunks), logs });
  } finally {
    await plugin?.shutdown();
    await fake.close();
  }
  assert.ok(!JSON.stringify(logs).includes(API_KEY), "the API key never reaches the log");
}

/** The params of a chat call on the default route. */
export function chatParams(request: Record<string, unknown>, stream = false) {
  return { route: { upstream: "codex", model: "codex-mini" }, request, stream };
}

/** Run a streaming call; return its chunks and its summary. */
export async function streamed(
  client: UpstreamProviderClient,
  request: Record<string, unknown>,
): Promise<
  { chunks: Record<string, unknown>[]; summary: { usage?: Usage; finish_reason?: string } }
> {
  const chunks: Record<string, unknown>[] = [];
  const summary = await client.chat(chatParams(request, true), {
    onChunk: (chunk) => chunks.push(chunk),
  });
  assert.ok(!("response" in summary), "a streaming call answers a summary");
  return { chunks, summary };
}

/** The body of the last request the fake received. */
export function lastBody(fake: FakeOpenAI): Record<string, unknown> {
  const last = fake.requests.at(-1);
  assert.ok(last, "the fake received a request");
  return last.body as Record<string, unknown>;
}

/** Wait for the rejection of a promise and return it. */
export async function failure(promise: Promise<unknown>): Promise<unknown> {
  return await promise.then(() => assert.fail("expected a failure"), (error) => error);
}
