/**
 * Markdown tables of the memory benchmark's report.
 *
 * @module
 */

import { markdownTable } from "./_markdown.ts";
import type { CacheFillResult } from "./_cache_fill.ts";
import type { GatewayResult } from "./_gateway.ts";
import type { ImportResult } from "./_imports.ts";
import type { PluginMemory } from "./_plugin_memory.ts";
import type { VariantResult } from "./_variants.ts";

const ms = (value: number | undefined) => value === undefined ? "–" : value.toFixed(0);

/** The plugins table. */
export function pluginsTable(plugins: readonly PluginMemory[]): string {
  return markdownTable(
    [
      "plugin",
      "ready p50 ms",
      "modules loaded p50 ms",
      "initialize answered p50 ms",
      "idle RSS MiB",
      "RSS after load MiB",
      "peak MiB",
      "requests",
      "load s",
      "one request",
    ],
    plugins.map((p) => [
      p.plugin,
      ms(p.readyMs.p50),
      ms(p.loadedMs?.p50),
      ms(p.initializedMs?.p50),
      p.idleMiB,
      p.loadedMiB,
      p.peakMiB,
      p.requests,
      p.loadSeconds,
      p.perRequest,
    ]),
  );
}

/** The cache fill table. */
export function cacheFillTable(fill: CacheFillResult): string {
  return markdownTable(
    ["cache.set calls", "entries", "store MiB", "RSS MiB", "evictions"],
    fill.samples.map((s) => [s.sets, s.entries, s.storeMiB, s.rssMiB, s.evictions]),
  );
}

/** The gateway table: each process idle and after the requests, and the totals. */
export function gatewayTable(gateway: GatewayResult): string {
  const labels = [
    ...new Set([...Object.keys(gateway.idle.byLabel), ...Object.keys(gateway.loaded.byLabel)]),
  ].sort((a, b) => (a === "gateway" ? -1 : b === "gateway" ? 1 : a.localeCompare(b)));
  const rows = labels.map((label) => [
    label,
    gateway.idle.byLabel[label] ?? "–",
    gateway.loaded.byLabel[label] ?? "–",
  ]);
  rows.push([
    `**total (${gateway.idle.processes} processes)**`,
    gateway.idle.totalMiB,
    gateway.loaded.totalMiB,
  ]);
  return markdownTable(["process", "idle RSS MiB", `after ${gateway.requests} requests MiB`], rows);
}

/** The import probes table. */
export function importsTable(imports: readonly ImportResult[]): string {
  return markdownTable(
    ["script that only imports", "RSS MiB", "over empty MiB", "V8 heap used MiB"],
    imports.map((i) => [i.label, i.rssMiB, i.deltaMiB, i.heapMiB]),
  );
}

/** The variants table. */
export function variantsTable(variants: readonly VariantResult[]): string {
  return markdownTable(
    ["plugin", "variant", "ready p50 ms", "idle RSS MiB", "RSS after load MiB", "load s"],
    variants.map((v) => [
      v.plugin,
      v.variant,
      ms(v.readyMs),
      v.idleMiB,
      v.loadedMiB,
      v.loadSeconds,
    ]),
  );
}
