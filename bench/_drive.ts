/**
 * Driving plugins in the memory benchmark: calls with a bounded number in flight, and the
 * requests and observer events a gateway request makes.
 *
 * @module
 */

import type { ObserverEvent } from "@vulpes/contract/capabilities";
import {
  checkHealth,
  type ChunkRouter,
  observerClient,
  type PluginProcess,
} from "@vulpes/contract/host";
import { fileURLToPath } from "node:url";
import type { Servers } from "./_servers.ts";

/** The repository root. */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");

/** What a load is given. */
export interface LoadContext {
  /** The running plugin. */
  plugin: PluginProcess;
  /** Chunks of `upstream.chat` streams. */
  chunks: ChunkRouter;
  /** How many requests' worth of calls to make. */
  requests: number;
  /** The servers. */
  servers: Servers;
}

const CONCURRENCY = 16;

/**
 * Run `count` calls with at most `concurrency` in flight.
 *
 * @param count How many.
 * @param call One call, given its index.
 * @param concurrency Calls in flight.
 */
export async function runConcurrent(
  count: number,
  call: (index: number) => Promise<unknown>,
  concurrency: number = CONCURRENCY,
): Promise<void> {
  let next = 0;
  async function worker(): Promise<void> {
    while (next < count) await call(next++);
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** A chat request with a system prompt and a question, about 400 bytes of JSON. */
export function chatRequest(index: number, stream = false): Record<string, unknown> {
  return {
    model: "gpt-4o-mini",
    messages: [
      { role: "system", content: "You are the support assistant of Vulpes. Answer briefly." },
      { role: "user", content: `How do I rotate API key number ${index}? Please explain it.` },
    ],
    temperature: 0.2,
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  };
}

/** The events of one request as the gateway emits them: an attempt, then the outcome. */
export function requestEvents(index: number, capture: boolean): ObserverEvent[] {
  const time = new Date().toISOString();
  const route = { upstream: "openai", model: "gpt-4o-mini", deployment: "openai/gpt-4o-mini" };
  const usage = { prompt_tokens: 42, completion_tokens: 17, total_tokens: 59 };
  const base = {
    time,
    request_id: `req-${index}`,
    tenant: `tenant-${index % 10}`,
    subject: `user-${index % 500}`,
    model: "gpt-4o-mini",
    route,
  };
  const answer = {
    id: `chatcmpl-${index}`,
    object: "chat.completion",
    choices: [{ index: 0, message: { role: "assistant", content: `Echo: ${index}` } }],
    usage,
  };
  return [
    { ...base, type: "upstream.attempt", status: 200, latency_ms: 180, usage },
    {
      ...base,
      type: "request.completed",
      status: 200,
      latency_ms: 190,
      usage,
      ...(capture ? { payload: { request: chatRequest(index), response: answer } } : {}),
    },
  ];
}

/** Emit the events of `requests` requests in batches of 50 requests (100 events). */
export async function emitRequests(context: LoadContext, capture = false): Promise<void> {
  const observer = observerClient(context.plugin);
  for (let start = 0, batch = 0; start < context.requests; start += 50, batch++) {
    const end = Math.min(start + 50, context.requests);
    const events: ObserverEvent[] = [];
    for (let i = start; i < end; i++) events.push(...requestEvents(i, capture));
    observer.emit({ events });
    // A request answered after the notifications: the plugin has taken them in.
    if (batch % 10 === 9) await checkHealth(context.plugin);
  }
  await checkHealth(context.plugin);
}
