/**
 * One plugin under the memory benchmark: startup times over several spawns, RSS once idle,
 * RSS after its load. The first spawn is kept as the measured instance; while it settles,
 * the other spawns and the startup probes run.
 *
 * @module
 */

import { createChunkRouter, PluginProcess } from "@vulpes/contract/host";
import { percentile, type Summary } from "./_stats.ts";
import { type PluginLoad, ROOT } from "./_loads.ts";
import { denoProcessOf, readMemory } from "./_proc.ts";
import type { Servers } from "./_servers.ts";
import { probeStartup } from "./_startup.ts";

/** What is measured of one plugin. */
export interface PluginMemory {
  /** The plugin. */
  plugin: string;
  /** Whether bin/<plugin> exec'd deno (`exec`) or deno was found as its child (`child`). */
  process: "exec" | "child";
  /** Spawn → `PluginProcess.start` resolved, ms. */
  readyMs: Summary;
  /** Spawn → the `health` answer (runtime up, modules loaded), ms; null without probes. */
  loadedMs: Summary | null;
  /** Spawn → the `initialize` answer on a raw pipe, ms; null without probes. */
  initializedMs: Summary | null;
  /** RSS after ready and the settle, MiB. */
  idleMiB: number;
  /** RSS right after the load, MiB. */
  loadedMiB: number;
  /** Peak RSS (VmHWM) over the process's life, MiB. */
  peakMiB: number;
  /** Requests' worth of calls made. */
  requests: number;
  /** The calls of one request. */
  perRequest: string;
  /** Time the load took, s. */
  loadSeconds: number;
}

/** Options of {@linkcode measurePlugin}. */
export interface MeasurePluginOptions {
  /** Spawns timed through `PluginProcess.start` (the first one is kept and measured). */
  spawns: number;
  /** Raw startup probes. */
  probes: number;
  /** Wait after ready before the idle RSS. */
  settleMs: number;
  /** Requests of the load. */
  requests: number;
  /** The servers. */
  servers: Servers;
}

function mib(kib: number | undefined): number {
  return Math.round((kib ?? 0) / 102.4) / 10;
}

/**
 * Measure one plugin.
 *
 * @param name The plugin (bin/<name>).
 * @param load Its config and load.
 * @param options Spawns, probes, settle, requests, servers.
 * @returns The measurements.
 */
export async function measurePlugin(
  name: string,
  load: PluginLoad,
  options: MeasurePluginOptions,
): Promise<PluginMemory> {
  const command = `${ROOT}/bin/${name}`;
  const config = await load.config(options.servers);
  const chunks = createChunkRouter();
  const startOptions = {
    command,
    instance: name,
    capabilities: load.capabilities,
    config,
    capturePayloads: load.capturePayloads ?? false,
    onLog: () => {},
    restart: false as const,
  };
  const ready: number[] = [];
  let started = performance.now();
  const kept = await PluginProcess.start({ ...startOptions, onNotification: chunks.dispatch });
  ready.push(performance.now() - started);
  try {
    const { pid, viaChild } = denoProcessOf(kept.pid!);
    const idle = new Promise<number>((resolve) =>
      setTimeout(() => resolve(mib(readMemory(pid)?.rssKiB)), options.settleMs)
    );
    for (let i = 1; i < options.spawns; i++) {
      started = performance.now();
      const other = await PluginProcess.start(startOptions);
      ready.push(performance.now() - started);
      await other.shutdown();
    }
    const loaded: number[] = [];
    const initialized: number[] = [];
    for (let i = 0; i < options.probes; i++) {
      const sample = await probeStartup({ ...startOptions, command });
      loaded.push(sample.loadedMs);
      initialized.push(sample.initializedMs);
    }
    const idleMiB = await idle;
    const loadStarted = performance.now();
    await load.load({ plugin: kept, chunks, requests: options.requests, servers: options.servers });
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    const after = readMemory(pid);
    return {
      plugin: name,
      process: viaChild ? "child" : "exec",
      readyMs: percentile(ready),
      loadedMs: loaded.length > 0 ? percentile(loaded) : null,
      initializedMs: initialized.length > 0 ? percentile(initialized) : null,
      idleMiB,
      loadedMiB: mib(after?.rssKiB),
      peakMiB: mib(after?.hwmKiB),
      requests: options.requests,
      perRequest: load.perRequest,
      loadSeconds: Math.round(loadSeconds * 10) / 10,
    };
  } finally {
    await kept.shutdown();
  }
}
