// deno-lint-ignore-file no-console
/**
 * Memory and startup of every plugin in bin/, of the whole dev gateway, and of cache-memory at
 * its byte limit; with `--imports`/`--variants`, where a plugin's idle RSS comes from.
 *
 * - Per plugin: spawn → ready (`PluginProcess.start`), p50 over `spawns`; a raw probe splits
 *   it into spawn → modules loaded (the `health` answer) and spawn → `initialize` answered.
 *   RSS (`VmRSS` of the deno process the launcher exec'd) after ready and a settle, and after
 *   a load through the typed clients (what one gateway request asks of the plugin, ×N).
 * - The dev gateway with examples/gateway.yaml on free ports: the RSS of the gateway and all
 *   its plugin processes, idle and after requests.
 * - cache-memory filled with distinct entries past `max_bytes`: RSS against `max_bytes`.
 *
 * Run (after `deno task build`):
 * `deno run -A bench/memory.ts [--quick] [--plugins=a,b] [--no-gateway] [--no-cache]
 * [--imports] [--variants] [--json]`. Prints markdown and writes bench/results/memory.json.
 *
 * @module
 */

import { measureCacheFill } from "./_cache_fill.ts";
import { measureGateway } from "./_gateway.ts";
import { measureImports } from "./_imports.ts";
import { LOADS, ROOT } from "./_loads.ts";
import {
  cacheFillTable,
  gatewayTable,
  importsTable,
  pluginsTable,
  variantsTable,
} from "./_memory_tables.ts";
import { measurePlugin, type PluginMemory } from "./_plugin_memory.ts";
import { Servers } from "./_servers.ts";
import { measureVariants } from "./_variants.ts";
import type { CacheFillResult } from "./_cache_fill.ts";
import type { GatewayResult } from "./_gateway.ts";
import type { ImportResult } from "./_imports.ts";
import type { VariantResult } from "./_variants.ts";

/** Options of {@linkcode measureMemory}. */
export interface MeasureMemoryOptions {
  /**
   * Fewer spawns, a tenth of the calls, a smaller cache, fewer gateway requests.
   *
   * @default {false}
   */
  quick?: boolean;
  /** Plugins to measure; default: every plugin in bin/ that has a load in bench/_loads.ts. */
  plugins?: string[];
  /** Spawns timed through `PluginProcess.start`; default 10 (quick: 3). */
  spawns?: number;
  /** Raw startup probes; default 3 (quick: 2). */
  probes?: number;
  /** Settle before an idle RSS; default 2000 ms (quick: 1000). */
  settleMs?: number;
  /** Gateway requests, 0 to skip the gateway; default 5000 (quick: 500). */
  gatewayRequests?: number;
  /** cache-memory's `max_bytes` for the fill, 0 to skip it; default 64 MiB (quick: 16 MiB). */
  cacheMaxBytes?: number;
  /**
   * Run the import probes.
   *
   * @default {false}
   */
  imports?: boolean;
  /**
   * Run the variants (bundle, lite mode) of a few plugins.
   *
   * @default {false}
   */
  variants?: boolean;
  /** Receives a line per step done. */
  onProgress?: (line: string) => void;
}

/** Everything measured. */
export interface MemoryReport {
  /** When it ran. */
  date: string;
  /** `Deno.version.deno`. */
  deno: string;
  /** Logical CPUs. */
  cpus: number;
  /** 1-minute load average before and after. */
  loadAverage: { before: number; after: number };
  /** Whether it was a quick run. */
  quick: boolean;
  /** Seconds the whole run took. */
  seconds: number;
  /** One entry per plugin measured. */
  plugins: PluginMemory[];
  /** Plugins that failed or have no load, with the reason. */
  skipped: { plugin: string; reason: string }[];
  /** cache-memory at its byte limit. */
  cacheFill: CacheFillResult | null;
  /** The whole dev gateway. */
  gateway: GatewayResult | null;
  /** Import probes. */
  imports: ImportResult[] | null;
  /** Variants. */
  variants: VariantResult[] | null;
}

function loadAverage(): number {
  return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
}

/**
 * Run the benchmark.
 *
 * @param options What to measure and how much.
 * @returns The report.
 */
export async function measureMemory(options: MeasureMemoryOptions = {}): Promise<MemoryReport> {
  const quick = options.quick ?? false;
  const progress = options.onProgress ?? (() => {});
  const began = performance.now();
  const before = loadAverage();
  const inBin = [...Deno.readDirSync(`${ROOT}/bin`)].filter((e) => e.isFile).map((e) => e.name)
    .sort();
  const names = options.plugins ?? inBin;
  const settleMs = options.settleMs ?? (quick ? 1_000 : 2_000);
  const skipped: MemoryReport["skipped"] = [];
  const plugins: PluginMemory[] = [];
  const servers = new Servers();
  let cacheFill: CacheFillResult | null = null;
  let gateway: GatewayResult | null = null;
  let imports: ImportResult[] | null = null;
  let variants: VariantResult[] | null = null;
  try {
    // PostgreSQL takes seconds to start: begin now, in the background.
    if (names.some((n) => n.includes("postgres") || n.includes("s3"))) {
      servers.postgres().catch(() => {});
    }
    for (const name of names) {
      const load = LOADS[name];
      if (!load || !inBin.includes(name)) {
        skipped.push({ plugin: name, reason: load ? "not in bin/" : "no load in bench/_loads.ts" });
        continue;
      }
      try {
        const result = await measurePlugin(name, load, {
          spawns: options.spawns ?? (quick ? 3 : 10),
          probes: options.probes ?? (quick ? 2 : 3),
          settleMs,
          requests: Math.round(load.requests * (quick ? 0.1 : 1)),
          servers,
        });
        plugins.push(result);
        progress(`${name}: idle ${result.idleMiB} MiB, after load ${result.loadedMiB} MiB`);
      } catch (error) {
        skipped.push({ plugin: name, reason: (error as Error).message });
        progress(`${name}: failed: ${(error as Error).message}`);
      }
    }
    const maxBytes = options.cacheMaxBytes ?? (quick ? 16 : 64) * 2 ** 20;
    if (maxBytes > 0) {
      cacheFill = await measureCacheFill({ maxBytes, settleMs });
      progress(`cache fill: RSS/max_bytes ${cacheFill.rssPerMaxBytes}`);
    }
    if (options.variants) {
      variants = await measureVariants(
        ["router-weighted", "observer-prometheus", "observer-otel", "upstream-openai"],
        { spawns: quick ? 2 : 3, settleMs, requests: quick ? 500 : 5_000, servers },
      );
      progress("variants done");
    }
  } finally {
    await servers.close();
  }
  const requests = options.gatewayRequests ?? (quick ? 500 : 5_000);
  if (requests > 0) {
    gateway = await measureGateway({ requests, settleMs });
    progress(`gateway: idle ${gateway.idle.totalMiB} MiB, loaded ${gateway.loaded.totalMiB} MiB`);
  }
  if (options.imports) {
    imports = await measureImports({ runs: quick ? 1 : 3, settleMs });
    progress("import probes done");
  }
  return {
    date: new Date().toISOString(),
    deno: Deno.version.deno,
    cpus: navigator.hardwareConcurrency,
    loadAverage: { before, after: loadAverage() },
    quick,
    seconds: Math.round((performance.now() - began) / 1000),
    plugins,
    skipped,
    cacheFill,
    gateway,
    imports,
    variants,
  };
}

function processNote(plugins: readonly PluginMemory[]): string {
  const child = plugins.filter((p) => p.process === "child").map((p) => p.plugin);
  return child.length === 0
    ? "RSS is that of the deno process itself: every bin/ launcher exec'd deno (same pid)."
    : `RSS of the deno child of the launcher for ${child.join(", ")}; the others exec'd deno.`;
}

/** The report as markdown. */
function markdown(report: MemoryReport): string {
  const parts = [
    `# Plugin memory and startup (${report.quick ? "quick" : "full"} run)`,
    `${report.date}, deno ${report.deno}, ${report.cpus} CPUs, load average ${report.loadAverage.before} → ${report.loadAverage.after}, ${report.seconds} s`,
    "## Plugins",
    pluginsTable(report.plugins),
    processNote(report.plugins),
  ];
  if (report.skipped.length > 0) {
    parts.push(report.skipped.map((s) => `- skipped ${s.plugin}: ${s.reason}`).join("\n"));
  }
  if (report.cacheFill) {
    const fill = report.cacheFill;
    parts.push(
      `## cache-memory filled past max_bytes ${fill.maxBytesMiB} MiB (values of ${fill.valueBytes} bytes)`,
      `Idle ${fill.idleMiB} MiB; at the limit RSS / max_bytes = ${fill.rssPerMaxBytes}, ` +
        `(RSS − idle) / bytes counted = ${fill.overheadPerStoredByte}.`,
      cacheFillTable(fill),
    );
  }
  if (report.gateway) {
    const g = report.gateway;
    parts.push(
      "## The dev gateway with every plugin",
      `Started in ${g.startMs} ms; ${g.requests} requests at ${g.requestsPerSecond}/s, statuses ${
        JSON.stringify(g.statuses)
      }; the mock upstream (not counted) ${g.mockMiB} MiB.`,
      gatewayTable(g),
    );
  }
  if (report.imports) parts.push("## What imports cost", importsTable(report.imports));
  if (report.variants) parts.push("## Variants", variantsTable(report.variants));
  return parts.join("\n\n");
}

function parseFlags(args: string[]): MeasureMemoryOptions & { json: boolean } {
  const plugins = args.find((a) => a.startsWith("--plugins="))?.slice("--plugins=".length);
  return {
    quick: args.includes("--quick"),
    ...(plugins ? { plugins: plugins.split(",") } : {}),
    ...(args.includes("--no-gateway") ? { gatewayRequests: 0 } : {}),
    ...(args.includes("--no-cache") ? { cacheMaxBytes: 0 } : {}),
    imports: args.includes("--imports"),
    variants: args.includes("--variants"),
    json: args.includes("--json"),
    onProgress: (line) => console.error(line),
  };
}

if (import.meta.main) {
  const options = parseFlags(Deno.args);
  measureMemory(options).then((report) => {
    const file = new URL("./results/memory.json", import.meta.url);
    Deno.mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
    Deno.writeTextFileSync(file, JSON.stringify(report, null, 2) + "\n");
    console.log(options.json ? JSON.stringify(report) : markdown(report));
  }, (error) => {
    console.error(`Cannot measure memory: ${(error as Error).stack ?? error}`);
    Deno.exit(1);
  });
}
