/**
 * upstream-openai: calls any OpenAI-compatible API (OpenAI, vLLM, llama.cpp server, Ollama)
 * for chat completions, streamed or not, and embeddings.
 *
 * @module
 */

import type { CallContext, PluginContext } from "@vulpes/contract/plugin";
import { definePlugin } from "@vulpes/contract/plugin";
import {
  CallCounter,
  openUpstreamCall,
  upstreamBaseUrl,
  type UpstreamCall,
  upstreamError,
  upstreamHeaders,
} from "@vulpes/contract/openai";
import { PluginError } from "@vulpes/contract/protocol";
import type { Route } from "@vulpes/contract/capabilities";
import { chatBody } from "./_request.ts";
import { relayChunks } from "./_stream.ts";
import { type Config, configSchema } from "./config.ts";

async function post(
  config: Config,
  context: PluginContext,
  call: CallContext,
  route: Route,
  path: string,
  body: Record<string, unknown>,
  stream: boolean,
): Promise<{ upstream: UpstreamCall; response: Response }> {
  const url = `${upstreamBaseUrl(config, route)}${path}`;
  const upstream = openUpstreamCall(config.timeouts, {
    signal: call.signal,
    fetch: context.fetch,
    now: context.now,
  });
  try {
    const response = await upstream.fetch(url, {
      method: "POST",
      headers: upstreamHeaders(config, stream),
      body: JSON.stringify(body),
    });
    if (!response.ok) {
      const text = await response.text().catch(() => "");
      throw upstreamError(response.status, response.headers, text, context.now());
    }
    return { upstream, response };
  } catch (error) {
    upstream.dispose();
    throw error;
  }
}

/** The `data` of a model list, as `{id, owned_by}`; entries without an id are skipped. */
function modelList(body: unknown): { id: string; owned_by: string }[] {
  const data = (body as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) {
    throw new PluginError("upstream_error", "The upstream's model list has no data array", {
      status: 502,
    });
  }
  return data.flatMap((entry) => {
    const id = (entry as { id?: unknown })?.id;
    const owner = (entry as { owned_by?: unknown })?.owned_by;
    return typeof id === "string" && id !== ""
      ? [{ id, owned_by: typeof owner === "string" ? owner : "" }]
      : [];
  });
}

function expectObject(value: unknown, what: string, status: number): Record<string, unknown> {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    return value as Record<string, unknown>;
  }
  throw new PluginError(
    "upstream_error",
    `The upstream answered ${what} with a body that is not a JSON object`,
    {
      status: 502,
      upstream_status: status,
    },
  );
}

/** The plugin definition. */
export const plugin = definePlugin<Config>({
  name: "upstream-openai",
  version: "0.1.0",
  description: "Chat completions and embeddings through any OpenAI-compatible API",
  capabilities: ["upstream_provider"],
  config: configSchema,
  create(config, context) {
    const counter = new CallCounter();
    const counted = <T>(work: () => Promise<T>) => counter.track(work);
    return {
      upstream_provider: {
        chat: function chat({ route, request, stream }, call) {
          return counted(async () => {
            const body = chatBody(request, route.model, stream);
            const { upstream, response } = await post(
              config,
              context,
              call,
              route,
              "/chat/completions",
              body,
              stream,
            );
            try {
              if (!stream) {
                const parsed = expectObject(
                  await upstream.json(response),
                  "a chat completion",
                  response.status,
                );
                return { response: parsed };
              }
              return await relayChunks(upstream.events(response), (chunk) => {
                call.notify("upstream.chunk", { id: call.id, chunk });
              });
            } finally {
              upstream.dispose();
            }
          });
        },
        models: function models(_params, call) {
          return counted(async () => {
            const route = { upstream: context.instance, model: "-" };
            const upstream = openUpstreamCall(config.timeouts, {
              signal: call.signal,
              fetch: context.fetch,
              now: context.now,
            });
            try {
              const response = await upstream.fetch(`${upstreamBaseUrl(config, route)}/models`, {
                method: "GET",
                headers: upstreamHeaders(config, false),
              });
              if (!response.ok) {
                const text = await response.text().catch(() => "");
                throw upstreamError(response.status, response.headers, text, context.now());
              }
              return { models: modelList(await upstream.json(response)) };
            } finally {
              upstream.dispose();
            }
          });
        },
        embeddings: function embeddings({ route, request }, call) {
          return counted(async () => {
            const body = { ...request, model: route.model };
            const { upstream, response } = await post(
              config,
              context,
              call,
              route,
              "/embeddings",
              body,
              false,
            );
            try {
              return {
                response: expectObject(
                  await upstream.json(response),
                  "embeddings",
                  response.status,
                ),
              };
            } finally {
              upstream.dispose();
            }
          });
        },
      },
      health() {
        return { status: "ok", detail: { ...counter.counts() } };
      },
    };
  },
});
