import type { Usage } from "@vulpes/contract/capabilities";
import type { SseEvent } from "@vulpes/contract/openai";
import { upstreamMessage } from "@vulpes/contract/openai";
import { PluginError } from "@vulpes/contract/plugin";

/** What a finished stream tells the core. */
export interface StreamSummary {
  usage?: Usage;
  finish_reason?: string;
}

/**
 * Relays a Chat Completions event stream: each chunk goes to `onChunk` in order; `[DONE]`
 * ends it. An error payload in the stream, a chunk that is not JSON, or an end without
 * `[DONE]` (unless a finish reason was seen: some servers omit it) is an `upstream_error`.
 */
export async function relayChunks(
  events: AsyncIterable<SseEvent>,
  onChunk: (chunk: Record<string, unknown>) => void,
): Promise<StreamSummary> {
  const summary: StreamSummary = {};
  let done = false;
  for await (const event of events) {
    if (event.data === "[DONE]") {
      done = true;
      break;
    }
    const chunk = parseChunk(event.data);
    if ("error" in chunk && chunk.error) {
      throw new PluginError(
        "upstream_error",
        `The upstream reported an error mid-stream: ${upstreamMessage(event.data) || "no message"}`,
        { status: 502 },
      );
    }
    if (chunk.usage && typeof chunk.usage === "object") summary.usage = chunk.usage as Usage;
    const choices = Array.isArray(chunk.choices) ? chunk.choices : [];
    for (const choice of choices) {
      const reason = (choice as { finish_reason?: unknown })?.finish_reason;
      if (typeof reason === "string") summary.finish_reason = reason;
    }
    onChunk(chunk);
  }
  if (!done && summary.finish_reason === undefined) {
    throw new PluginError("upstream_error", "The upstream closed the stream before it finished", {
      status: 502,
    });
  }
  return summary;
}

function parseChunk(data: string): Record<string, unknown> {
  try {
    const value = JSON.parse(data);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value;
  } catch { /* reported below */ }
  throw new PluginError(
    "upstream_error",
    "The upstream sent a stream event that is not a JSON object",
    {
      status: 502,
    },
  );
}
