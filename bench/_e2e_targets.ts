/**
 * The targets of bench/e2e.ts as the runs see them: where to send, with which headers, which
 * processes to take CPU time from, their warnings, and for the dev gateway the /healthz
 * counters that prove every request took the whole pipeline.
 *
 * @module
 */

import type { GatewayCounters, TargetName } from "./_e2e_report.ts";
import { type Service, startGateway, startPortkey } from "./_e2e_services.ts";

const DEMO_KEY = "sk-vulpes-demo";

/** Warning lines written by a target's processes. */
export interface Warnings {
  /** How many so far. */
  count: number;
  /** The last one. */
  last?: string;
}

/** A target as the runs see it. */
export interface Target {
  /** Which one. */
  name: TargetName;
  /** Its chat completions URL. */
  url: string;
  /** The headers of every request (content type, credentials, Portkey's routing). */
  headers: Record<string, string>;
  /** Its processes by name (the mock's included), for CPU time. */
  processes(): Promise<Record<string, number>>;
  /** Warning lines its processes wrote so far. */
  warnings(): Warnings;
  /** The dev gateway's /healthz counters (vulpes only). */
  counters?(): Promise<GatewayCounters>;
}

/**
 * Start a target in front of the mock (nothing to start for the mock itself).
 *
 * @param name Which target.
 * @param mock The running mock upstream.
 * @param started Gets every service started, so that the caller stops it.
 * @returns The target.
 */
export async function startTarget(
  name: TargetName,
  mock: Service,
  started: Service[],
): Promise<Target> {
  const json = { "content-type": "application/json" };
  if (name === "mock") {
    return {
      name,
      url: `${mock.url}/v1/chat/completions`,
      headers: json,
      processes: () => Promise.resolve({ mock: mock.pid }),
      warnings: () => warningsOf([mock]),
    };
  }
  if (name === "portkey") {
    const portkey = await startPortkey();
    started.push(portkey);
    return {
      name,
      url: `${portkey.url}/v1/chat/completions`,
      headers: {
        ...json,
        authorization: "Bearer sk-bench-unused", // forwarded to the mock, which ignores it
        "x-portkey-provider": "openai",
        "x-portkey-custom-host": `${mock.url}/v1`,
      },
      processes: () => Promise.resolve({ portkey: portkey.pid, mock: mock.pid }),
      warnings: () => warningsOf([portkey, mock]),
    };
  }
  const gateway = await startGateway(mock.url);
  started.push(gateway);
  const health = async () => (await fetch(`${gateway.url}/healthz`)).json() as Promise<Health>;
  return {
    name,
    url: `${gateway.url}/v1/chat/completions`,
    headers: { ...json, authorization: `Bearer ${DEMO_KEY}` },
    async processes() {
      const plugins = Object.entries((await health()).plugins).map(([n, p]) => [n, p.pid]);
      return { gateway: gateway.pid, ...Object.fromEntries(plugins), mock: mock.pid };
    },
    warnings: () => warningsOf([gateway, mock]),
    counters: async () => countersOf(await health()),
  };
}

function warningsOf(services: Service[]): Warnings {
  const count = services.reduce((sum, s) => sum + s.warnings(), 0);
  const last = services.map((s) => s.lastWarning()).find((line) => line !== undefined);
  return last === undefined ? { count } : { count, last };
}

interface Health {
  plugins: Record<string, { pid: number; restarts: number; detail?: Record<string, unknown> }>;
}

/** The counters of the plugin instances of bench/gateway.bench.yaml. */
function countersOf(health: Health): GatewayCounters {
  const detail = (name: string, key: string) => Number(health.plugins[name]?.detail?.[key] ?? 0);
  const plugins = Object.values(health.plugins);
  return {
    cacheHits: detail("cache", "hits"),
    cacheMisses: detail("cache", "misses"),
    refused: detail("limits", "refused"),
    upstreamFailures: detail("upstream", "failures"),
    restarts: plugins.reduce((sum, p) => sum + p.restarts, 0),
    eventsLost: ["events", "metrics"].reduce(
      (sum, name) => sum + detail(name, "dropped") + detail(name, "failed"),
      0,
    ),
  };
}

/**
 * The change of each counter between two readings.
 *
 * @param after The later reading.
 * @param before The earlier one.
 * @returns `after - before`, counter by counter.
 */
export function counterChange(after: GatewayCounters, before: GatewayCounters): GatewayCounters {
  const change = { ...after };
  for (const key of Object.keys(after) as (keyof GatewayCounters)[]) change[key] -= before[key];
  return change;
}
