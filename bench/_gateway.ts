/**
 * The whole dev gateway under the memory benchmark: examples/gateway.yaml adapted to free
 * ports (its mock upstream and OTLP sink started as `make run` starts them), requests through
 * it, and the resident memory of the gateway process plus every plugin process under it.
 *
 * @module
 */

import { parse } from "yaml";
import { startGatewayProcess, writeConfig } from "../examples/dev-gateway/testdata/harness.ts";
import { ROOT, runConcurrent } from "./_loads.ts";
import { freePort, readMemory, sleep, treeMemory } from "./_proc.ts";
import { waitExit } from "./_startup.ts";

/** The demo key of examples/gateway.yaml (its SHA-256 digest is in the file). */
export const DEMO_KEY = "sk-vulpes-demo";

/** Where the adapted config points. */
export interface GatewayTargets {
  /** Folder of the plugin binaries (absolute). */
  binDir: string;
  /** Base URL of the mock upstream, ending in `/v1`. */
  baseUrl: string;
  /** The OTLP/HTTP endpoint. */
  otlpEndpoint: string;
}

type Json = Record<string, unknown>;

/**
 * examples/gateway.yaml made runnable beside anything else: the gateway on a free port, plugin
 * paths absolute, the upstreams on the mock, Prometheus on a free port, OTLP to the sink, and
 * rate limits raised so that a benchmark is not answered 429 (60 requests a minute a key in
 * the example).
 *
 * @param config The parsed example config (not changed).
 * @param targets Where to point it.
 * @returns The adapted config.
 */
export function adaptGatewayConfig(config: Json, targets: GatewayTargets): Json {
  const adapted = structuredClone(config);
  adapted.server = { ...(adapted.server as Json), listen: "127.0.0.1:0" };
  for (const plugin of adapted.plugins as Json[]) {
    const source = plugin.source as Json;
    const name = String(source.path).split("/").at(-1);
    plugin.source = { ...source, path: `${targets.binDir}/${name}` };
    const settings = (plugin.config ?? {}) as Json;
    if ("base_url" in settings) settings.base_url = targets.baseUrl;
    if ("listen" in settings) settings.listen = { hostname: "127.0.0.1", port: 0 };
    if ("endpoint" in settings) settings.endpoint = targets.otlpEndpoint;
    if (Array.isArray(settings.rules) && plugin.capabilities?.toString() === "rate_limiter") {
      for (const rule of settings.rules as Json[]) {
        if ("requests" in rule) rule.requests = 1_000_000_000;
        if ("tokens" in rule) rule.tokens = 1_000_000_000_000;
      }
    }
  }
  return adapted;
}

/**
 * What a process of the gateway's tree is, from its command line.
 *
 * @param cmdline /proc/<pid>/cmdline (NUL-separated).
 * @returns The plugin name, `gateway`, or the executable's name.
 */
export function labelOf(cmdline: string): string {
  const args = cmdline.split("\0");
  const plugin = args.map((arg) => /plugins\/([^/]+)\/main\.ts$/.exec(arg)?.[1]).find(Boolean);
  if (plugin) return plugin;
  if (args.some((arg) => arg.endsWith("dev-gateway/main.ts"))) return "gateway";
  return args[0]?.split("/").at(-1) ?? "?";
}

/** Memory of the gateway's process tree. */
export interface TreeSnapshot {
  /** Sum over the tree, MiB. */
  totalMiB: number;
  /** Processes in the tree. */
  processes: number;
  /** Each process's RSS by label, MiB. */
  byLabel: Record<string, number>;
}

function snapshot(pid: number): TreeSnapshot {
  const tree = treeMemory(pid);
  const byLabel: Record<string, number> = {};
  for (const [child, kib] of tree.processes) {
    let label = "?";
    try {
      label = labelOf(Deno.readTextFileSync(`/proc/${child}/cmdline`));
    } catch { /* gone */ }
    byLabel[label] = round((byLabel[label] ?? 0) + kib / 1024);
  }
  return { totalMiB: round(tree.totalKiB / 1024), processes: tree.processes.size, byLabel };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** What {@linkcode measureGateway} reports. */
export interface GatewayResult {
  /** Time from spawn until the gateway listened with every plugin ready, ms. */
  startMs: number;
  /** After start and a settle. */
  idle: TreeSnapshot;
  /** After the requests and a short settle. */
  loaded: TreeSnapshot;
  /** Requests sent. */
  requests: number;
  /** Answers by HTTP status. */
  statuses: Record<string, number>;
  /** Requests per second over the load. */
  requestsPerSecond: number;
  /** The mock upstream's RSS (not in the totals), MiB. */
  mockMiB: number;
}

function startMock(otlpPort: number): { child: Deno.ChildProcess; url: Promise<string> } {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      "--config",
      `${ROOT}/deno.json`,
      "--allow-net",
      "--allow-env",
      `${ROOT}/examples/mock-upstream/main.ts`,
      "--port",
      "0",
      "--otlp-port",
      String(otlpPort),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const url = (async () => {
    let seen = "";
    for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
      seen += text;
      const match = /listening on (\S+)/.exec(seen);
      if (match) return match[1]!;
    }
    throw new Error("The mock upstream exited before listening");
  })();
  return { child, url };
}

/** Request `i`: chat (1 in 4 streamed, 1 in 10 with a prompt reference) or embeddings (1 in 20). */
function requestOf(i: number): { path: string; body: Json; stream: boolean } {
  if (i % 20 === 19) {
    return {
      path: "/v1/embeddings",
      body: { model: "text-embedding-3-small", input: `text ${i}` },
      stream: false,
    };
  }
  const stream = i % 4 === 3;
  const body: Json = {
    // 1 in 10 goes to gpt-5-mini (upstream-codex), 1 in 7 through the alias `default`.
    model: i % 10 === 7 ? "gpt-5-mini" : i % 7 === 0 ? "default" : "gpt-4o-mini",
    // 2,500 distinct questions: the second pass is answered by the cache.
    messages: [{ role: "user", content: `How do I rotate key ${i % 2500}?` }],
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    ...(i % 10 === 5 ? { prompt: { id: "support-bot", variables: { product: "Vulpes" } } } : {}),
  };
  return { path: "/v1/chat/completions", body, stream };
}

/**
 * Start the mock and the gateway with every plugin, measure the tree idle, send requests,
 * measure again, and stop everything.
 *
 * @param options How many requests, how many in flight, how long to settle.
 * @returns The measurements.
 */
export async function measureGateway(
  options: { requests: number; concurrency?: number; settleMs?: number },
): Promise<GatewayResult> {
  const settleMs = options.settleMs ?? 2_000;
  const otlpPort = freePort();
  const mock = startMock(otlpPort);
  const dir = await Deno.makeTempDir({ prefix: "vulpes-bench-gateway-" });
  let gateway: Awaited<ReturnType<typeof startGatewayProcess>> | undefined;
  try {
    const example = parse(await Deno.readTextFile(`${ROOT}/examples/gateway.yaml`)) as Json;
    const config = adaptGatewayConfig(example, {
      binDir: `${ROOT}/bin`,
      baseUrl: await mock.url,
      otlpEndpoint: `http://127.0.0.1:${otlpPort}`,
    });
    const started = performance.now();
    gateway = await startGatewayProcess(writeConfig(dir, config));
    const startMs = Math.round(performance.now() - started);
    await sleep(settleMs);
    const idle = snapshot(gateway.pid);
    const statuses: Record<string, number> = {};
    const url = gateway.url;
    const loadStarted = performance.now();
    await runConcurrent(options.requests, async (i) => {
      const { path, body } = requestOf(i);
      const response = await fetch(`${url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${DEMO_KEY}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      await response.arrayBuffer();
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
    }, options.concurrency ?? 32);
    const seconds = (performance.now() - loadStarted) / 1000;
    await sleep(Math.min(settleMs, 1_000));
    const loaded = snapshot(gateway.pid);
    return {
      startMs,
      idle,
      loaded,
      requests: options.requests,
      statuses,
      requestsPerSecond: Math.round(options.requests / seconds),
      mockMiB: round((readMemory(mock.child.pid)?.rssKiB ?? 0) / 1024),
    };
  } finally {
    await gateway?.stop();
    try {
      mock.child.kill("SIGTERM");
    } catch { /* gone */ }
    await waitExit(mock.child, 5_000);
    await mock.url.catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
