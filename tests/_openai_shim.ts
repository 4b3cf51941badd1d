/**
 * A minimal HTTP front for an upstream plugin, for tests that check with the official
 * `openai` client what the plugin produces: it passes each Chat Completions or Embeddings
 * request to the plugin on one fixed route and writes the answer back as JSON or SSE. It is
 * not the dev gateway: no pipeline, no stripping of usage chunks.
 *
 * @module
 */

import { type ChunkRouter, type PluginCaller, upstreamProviderClient } from "@vulpes/contract/host";
import { encodeSse, errorBody, errorBodyOf, statusOf } from "@vulpes/contract/openai";
import { PluginError } from "@vulpes/contract/protocol";
import type { Route } from "@vulpes/contract/capabilities";

/** A running shim. */
export interface OpenAIShim {
  /** Base URL for the client: `http://127.0.0.1:<port>/v1`. */
  baseURL: string;
  /** Stop the server. */
  close(): Promise<void>;
}

function failure(error: unknown): Response {
  if (error instanceof PluginError) {
    return Response.json(errorBodyOf(error), { status: statusOf(error) });
  }
  return Response.json(errorBody(String(error), "server_error"), { status: 500 });
}

/** Start a shim in front of an upstream plugin on a free port of 127.0.0.1. */
export function startOpenAIShim(
  plugin: PluginCaller,
  chunks: ChunkRouter,
  route: Route,
): OpenAIShim {
  const upstream = upstreamProviderClient(plugin, chunks);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = new URL(request.url).pathname;
    const body = await request.json();
    if (path === "/v1/embeddings") {
      try {
        return Response.json((await upstream.embeddings({ route, request: body })).response);
      } catch (error) {
        return failure(error);
      }
    }
    if (!body.stream) {
      try {
        const result = await upstream.chat({ route, request: body, stream: false });
        return Response.json("response" in result ? result.response : {});
      } catch (error) {
        return failure(error);
      }
    }
    const encoder = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        try {
          await upstream.chat({ route, request: body, stream: true }, {
            onChunk: (chunk) =>
              controller.enqueue(encoder.encode(encodeSse(JSON.stringify(chunk)))),
          });
          controller.enqueue(encoder.encode(encodeSse("[DONE]")));
        } catch (error) {
          const payload = error instanceof PluginError
            ? errorBodyOf(error)
            : errorBody(String(error), "server_error");
          controller.enqueue(encoder.encode(encodeSse(JSON.stringify(payload))));
        }
        controller.close();
      },
    });
    return new Response(stream, { headers: { "content-type": "text/event-stream" } });
  });
  return {
    baseURL: `http://127.0.0.1:${server.addr.port}/v1`,
    close: () => server.shutdown(),
  };
}
