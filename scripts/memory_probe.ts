// deno-lint-ignore-file no-console
/**
 * A long-run memory probe (not a test: it takes minutes): 32,000 calls through
 * bin/upstream-openai against the fake OpenAI server, and 32,000 requests' events through
 * bin/observer-otel against a local OTLP sink, printing each plugin's RSS every 4,000; and
 * 40,000 requests through the dev gateway with examples/gateway.yaml, printing the gateway's
 * RSS and the heap V8 keeps after its last full collection (`--trace-gc`) every 5,000. A leak
 * shows as RSS that keeps growing (and, for the gateway, a heap after collection that does);
 * a healthy process levels off once V8's heap has grown.
 *
 * Usage: deno task memory-probe [upstream] [otel] [gateway]   (after make build; default: all)
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
import { parse } from "yaml";
import { runConcurrent } from "../bench/_drive.ts";
import { adaptGatewayConfig, DEMO_KEY } from "../bench/_gateway.ts";

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

async function probeGateway(): Promise<void> {
  await using fake = await startFakeOpenAI({ record: false });
  const dir = await Deno.makeTempDir({ prefix: "vulpes-probe-" });
  const example = parse(Deno.readTextFileSync("examples/gateway.yaml")) as Record<string, unknown>;
  const config = adaptGatewayConfig(example, {
    binDir: `${Deno.cwd()}/bin`,
    baseUrl: `${fake.url}/v1`,
    otlpEndpoint: "http://127.0.0.1:9",
  });
  // No OTLP sink here: observer-otel would only log failed exports.
  config.plugins = (config.plugins as { source: { path: string } }[])
    .filter((p) => !p.source.path.endsWith("/observer-otel"));
  Deno.writeTextFileSync(`${dir}/gateway.yaml`, JSON.stringify(config));
  const gateway = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      "--v8-flags=--trace-gc",
      "--config",
      "deno.json",
      "examples/dev-gateway/main.ts",
      "--config",
      `${dir}/gateway.yaml`,
      "--listen",
      "127.0.0.1:0",
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let exited = false;
  gateway.status.then(() => (exited = true));
  let out = "";
  const reading = gateway.stdout.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (text) => void (out += text) }),
  );
  try {
    while (!/listening on (\S+)/.test(out)) {
      if (exited) throw new Error("The gateway exited before listening");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const url = /listening on (\S+)/.exec(out)![1];
    let sent = 0;
    for (let round = 1; round <= 8; round++) {
      await runConcurrent(5000, async () => {
        const i = sent++;
        const response = await fetch(`${url}/v1/chat/completions`, {
          method: "POST",
          headers: { authorization: `Bearer ${DEMO_KEY}`, "content-type": "application/json" },
          body: JSON.stringify({
            model: "gpt-4o-mini",
            messages: [{ role: "user", content: `How do I rotate key ${i % 2500}?` }],
            ...(i % 4 === 3 ? { stream: true } : {}),
          }),
        });
        await response.arrayBuffer();
      }, 32);
      const fullGc = out.split("\n").filter((line) => line.includes("Mark-Compact")).at(-1);
      const after = /-> ([\d.]+) \(/.exec(fullGc ?? "")?.[1] ?? "?";
      console.log(
        `gateway after ${round * 5000} requests: RSS ${rssMiB(gateway.pid)} MiB, ` +
          `heap after the last full GC ${after} MB`,
      );
    }
  } finally {
    gateway.kill("SIGTERM");
    await gateway.status;
    await reading.catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}

const PROBES: Record<string, () => Promise<void>> = {
  upstream: probeUpstream,
  otel: probeOtel,
  gateway: probeGateway,
};

async function main(names: string[]): Promise<void> {
  const unknown = names.filter((name) => !(name in PROBES));
  if (unknown.length > 0) {
    console.error(`Unknown probe "${unknown[0]}": choose from ${Object.keys(PROBES).join(", ")}`);
    Deno.exit(2);
  }
  for (const name of names.length > 0 ? names : Object.keys(PROBES)) await PROBES[name]!();
}

if (import.meta.main) main(Deno.args);
