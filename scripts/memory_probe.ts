// deno-lint-ignore-file no-console
/**
 * A long-run memory probe (not a test: it takes minutes): 32,000 calls through
 * bin/upstream-openai against the fake OpenAI server, and 32,000 requests' events through
 * bin/observer-otel against a local OTLP sink, printing each plugin's RSS every 4,000. A leak
 * shows as RSS that keeps growing; a healthy process levels off once V8's heap has grown.
 *
 * Usage: deno task memory-probe   (after make build)
 *
 * @module
 */

import {
  createChunkRouter,
  observerClient,
  PluginProcess,
  upstreamProviderClient,
} from "@vulpes/contract/host";
import { startFakeOpenAI } from "@vulpes/contract/testing";

const ROUNDS = 8;
const PER_ROUND = 4000;

function rssMiB(pid: number | undefined): string {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return (Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024).toFixed(1);
}

async function probeUpstream(): Promise<void> {
  const fake = await startFakeOpenAI();
  const chunks = createChunkRouter();
  const plugin = await PluginProcess.start({
    command: "bin/upstream-openai",
    instance: "probe",
    capabilities: ["upstream_provider"],
    config: { base_url: `${fake.url}/v1` },
    onLog: () => {},
    onNotification: chunks.dispatch,
  });
  const upstream = upstreamProviderClient(plugin, chunks);
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (let i = 0; i < PER_ROUND / 4; i++) {
        await Promise.all([0, 1, 2, 3].map((k) =>
          upstream.chat({
            route: { upstream: "probe", model: "m" },
            request: { model: "m", messages: [{ role: "user", content: `hi ${i} ${k}` }] },
            stream: (i + k) % 2 === 0,
          }, { onChunk: () => {} })
        ));
      }
      fake.requests.length = 0;
      console.log(
        `upstream-openai after ${round * PER_ROUND} calls: RSS ${rssMiB(plugin.pid)} MiB`,
      );
    }
  } finally {
    await plugin.shutdown();
    await fake.close();
  }
}

async function probeOtel(): Promise<void> {
  const sink = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    await request.body?.cancel();
    return Response.json({});
  });
  const plugin = await PluginProcess.start({
    command: "bin/observer-otel",
    instance: "probe",
    capabilities: ["observer"],
    config: {
      endpoint: `http://127.0.0.1:${sink.addr.port}`,
      protocol: "http/json",
      batch: { max_size: 256, interval_ms: 200 },
      metrics_interval_ms: 1000,
    },
    onLog: () => {},
  });
  const observer = observerClient(plugin);
  let n = 0;
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (let batch = 0; batch < PER_ROUND / 100; batch++) {
        const time = new Date().toISOString();
        const route = { upstream: "u", model: "m" };
        observer.emit({
          events: Array.from({ length: 100 }, () => `req-${n++}`).flatMap((request_id) => [
            {
              type: "upstream.attempt" as const,
              time,
              request_id,
              model: "m",
              route,
              status: 200,
              latency_ms: 5,
            },
            {
              type: "request.completed" as const,
              time,
              request_id,
              model: "m",
              route,
              status: 200,
              latency_ms: 6,
              usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
            },
          ]),
        });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await new Promise((resolve) => setTimeout(resolve, 1500));
      console.log(`observer-otel after ${n} requests: RSS ${rssMiB(plugin.pid)} MiB`);
    }
  } finally {
    await plugin.shutdown();
    await sink.shutdown();
  }
}

if (import.meta.main) {
  probeUpstream().then(probeOtel);
}
