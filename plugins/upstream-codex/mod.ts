/**
 * upstream-codex: code (and any other) models through the OpenAI Responses API, behind the
 * Chat Completions contract: requests are mapped to `POST {base_url}/responses`, answers and
 * stream events back to chat completions and chunks.
 *
 * @module
 */

import type { Route } from "@vulpes/contract/capabilities";
import type { CallContext, PluginContext } from "@vulpes/contract/plugin";
import { definePlugin, PluginError } from "@vulpes/contract/plugin";
import {
  CallCounter,
  openUpstreamCall,
  upstreamBaseUrl,
  type UpstreamCall,
  upstreamError,
  upstreamHeaders,
} from "@vulpes/contract/openai";
import { responsesBody } from "./_request.ts";
import { chatCompletion } from "./_response.ts";
import { relayEvents } from "./_stream.ts";
import { type Config, configSchema } from "./config.ts";

/** Send a request; an error status becomes the plugin error of {@linkcode upstreamError}. */
async function send(
  upstream: UpstreamCall,
  context: PluginContext,
  url: string,
  init: RequestInit,
): Promise<Response> {
  const response = await upstream.fetch(url, init);
  if (!response.ok) {
    const text = await response.text().catch(() => "");
    throw upstreamError(response.status, response.headers, text, context.now());
  }
  return response;
}

async function chat(
  config: Config,
  context: PluginContext,
  params: { route: Route; request: Record<string, unknown>; stream: boolean },
  call: CallContext,
) {
  const { route, request, stream } = params;
  const body = responsesBody(request, route.model, { stream, store: config.store });
  const url = `${upstreamBaseUrl(config, route)}/responses`;
  const upstream = openUpstreamCall(config.timeouts, {
    signal: call.signal,
    fetch: context.fetch,
    now: context.now,
  });
  try {
    const response = await send(upstream, context, url, {
      method: "POST",
      headers: upstreamHeaders(config, stream),
      body: JSON.stringify(body),
    });
    if (!stream) return { response: chatCompletion(await upstream.json(response)) };
    return await relayEvents(upstream.events(response), function relay(chunk) {
      call.notify("upstream.chunk", { id: call.id, chunk });
    }, context.now);
  } finally {
    upstream.dispose();
  }
}

async function models(config: Config, context: PluginContext, call: CallContext) {
  const upstream = openUpstreamCall(config.timeouts, {
    signal: call.signal,
    fetch: context.fetch,
    now: context.now,
  });
  try {
    const route = { upstream: context.instance, model: "-" };
    const response = await send(upstream, context, `${upstreamBaseUrl(config, route)}/models`, {
      method: "GET",
      headers: upstreamHeaders(config, false),
    });
    const data = ((await upstream.json(response)) as { data?: unknown } | null)?.data;
    if (!Array.isArray(data)) {
      throw new PluginError("upstream_error", "The upstream's model list has no data array", {
        status: 502,
      });
    }
    return {
      models: data.flatMap((entry) => {
        const { id, owned_by } = (entry ?? {}) as { id?: unknown; owned_by?: unknown };
        if (typeof id !== "string" || id === "") return [];
        return [{ id, owned_by: typeof owned_by === "string" ? owned_by : "" }];
      }),
    };
  } finally {
    upstream.dispose();
  }
}

/** The plugin definition. */
export const plugin = definePlugin<Config>({
  name: "upstream-codex",
  version: "0.1.0",
  description: "Chat completions through the OpenAI Responses API (code models such as Codex)",
  capabilities: ["upstream_provider"],
  config: configSchema,
  create(config, context) {
    const counter = new CallCounter();
    const counted = <T>(work: () => Promise<T>) => counter.track(work);
    return {
      upstream_provider: {
        chat: function upstreamChat(params, call) {
          return counted(() => chat(config, context, params, call));
        },
        models: function upstreamModels(_params, call) {
          return counted(() => models(config, context, call));
        },
      },
      health() {
        return { status: "ok", detail: { ...counter.counts() } };
      },
    };
  },
});
