/**
 * The same plugin run in other ways, to see what its RSS would be: as built (bin/), as one
 * tree-shaken file from `deno bundle` (zod's locales and unused SDK code left out), with V8's
 * memory-saving heap heuristics (`--optimize-for-size`), and in V8's lite mode (no optimizing
 * compiler, which implies the former). Same permission flags as the build task.
 *
 * @module
 */

import { createChunkRouter, PluginProcess } from "@vulpes/contract/host";
import { declaredFlags } from "../tests/_support.ts";
import { LOADS, ROOT } from "./_loads.ts";
import { denoProcessOf, readMemory, sleep } from "./_proc.ts";
import type { Servers } from "./_servers.ts";
import { percentile } from "./_stats.ts";

/** One plugin in one variant. */
export interface VariantResult {
  /** The plugin. */
  plugin: string;
  /** How it was run. */
  variant: string;
  /** Spawn → ready, p50, ms. */
  readyMs: number;
  /** RSS after the settle, MiB. */
  idleMiB: number;
  /** RSS after the load, MiB. */
  loadedMiB: number;
  /** Time the load took, s. */
  loadSeconds: number;
}

/** The variants compared. */
export const VARIANTS = [
  "bin/ (as built)",
  "deno bundle",
  "--v8-flags=--optimize-for-size",
  "--v8-flags=--lite-mode",
];

async function bundle(name: string, dir: string): Promise<string> {
  const output = `${dir}/${name}.js`;
  const result = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform",
      "deno",
      "--config",
      `${ROOT}/deno.json`,
      "-o",
      output,
      `${ROOT}/plugins/${name}/main.ts`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!result.success) {
    throw new Error(
      `Cannot bundle ${name}: ${new TextDecoder().decode(result.stderr).slice(0, 500)}`,
    );
  }
  return output;
}

function commandOf(
  name: string,
  variant: string,
  bundled: string,
): { command: string; args: string[] } {
  if (variant === VARIANTS[0]) return { command: `${ROOT}/bin/${name}`, args: [] };
  const v8 = variant.startsWith("--v8-flags") ? [variant] : [];
  const entry = variant === "deno bundle"
    ? [bundled]
    : ["--cached-only", "--config", `${ROOT}/deno.json`, `${ROOT}/plugins/${name}/main.ts`];
  const flags = declaredFlags(name).filter((flag) => flag !== "--no-prompt");
  return {
    command: Deno.execPath(),
    args: ["run", "--quiet", "--no-prompt", ...flags, ...v8, ...entry],
  };
}

/**
 * Run each plugin in each variant: `spawns` starts (the first one kept), a settle, the load.
 *
 * @param names The plugins.
 * @param options Spawns, settle, requests, servers.
 * @returns One result per plugin and variant.
 */
export async function measureVariants(
  names: readonly string[],
  options: { spawns: number; settleMs: number; requests: number; servers: Servers },
): Promise<VariantResult[]> {
  const dir = await Deno.makeTempDir({ prefix: "vulpes-bench-bundles-" });
  const results: VariantResult[] = [];
  try {
    for (const name of names) {
      const load = LOADS[name]!;
      const bundled = await bundle(name, dir);
      const config = await load.config(options.servers);
      for (const variant of VARIANTS) {
        const chunks = createChunkRouter();
        const start = (notify: boolean) =>
          PluginProcess.start({
            ...commandOf(name, variant, bundled),
            instance: name,
            capabilities: load.capabilities,
            config,
            capturePayloads: load.capturePayloads ?? false,
            onLog: () => {},
            ...(notify ? { onNotification: chunks.dispatch } : {}),
            restart: false,
          });
        const ready: number[] = [];
        let started = performance.now();
        const kept = await start(true);
        ready.push(performance.now() - started);
        try {
          const pid = denoProcessOf(kept.pid!).pid;
          for (let i = 1; i < options.spawns; i++) {
            started = performance.now();
            const other = await start(false);
            ready.push(performance.now() - started);
            await other.shutdown();
          }
          await sleep(options.settleMs);
          const idleMiB = Math.round((readMemory(pid)?.rssKiB ?? 0) / 102.4) / 10;
          const loadStarted = performance.now();
          await load.load({
            plugin: kept,
            chunks,
            requests: options.requests,
            servers: options.servers,
          });
          results.push({
            plugin: name,
            variant,
            readyMs: Math.round(percentile(ready).p50),
            idleMiB,
            loadedMiB: Math.round((readMemory(pid)?.rssKiB ?? 0) / 102.4) / 10,
            loadSeconds: Math.round((performance.now() - loadStarted) / 100) / 10,
          });
        } finally {
          await kept.shutdown();
        }
      }
    }
    return results;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
