/**
 * cache-memory at its byte limit: distinct answers are `cache.set` until the store evicts,
 * then a quarter more, and the process's RSS is compared with `max_bytes` (and with the bytes
 * the store counts) along the way.
 *
 * @module
 */

import { cacheProviderClient, checkHealth, PluginProcess } from "@vulpes/contract/host";
import { ROOT, runConcurrent } from "./_loads.ts";
import { denoProcessOf, readMemory, sleep } from "./_proc.ts";

/** One point of the fill. */
export interface FillSample {
  /** `cache.set` calls so far. */
  sets: number;
  /** Entries held. */
  entries: number;
  /** Bytes the store counts (JSON text + namespace + key). */
  storeMiB: number;
  /** Process RSS. */
  rssMiB: number;
  /** Evictions so far. */
  evictions: number;
}

/** What {@linkcode measureCacheFill} reports. */
export interface CacheFillResult {
  /** The configured byte limit. */
  maxBytesMiB: number;
  /** Size of one value's JSON text. */
  valueBytes: number;
  /** RSS before the first set. */
  idleMiB: number;
  /** The fill, point by point; the last one after a settle. */
  samples: FillSample[];
  /** Final RSS / max_bytes. */
  rssPerMaxBytes: number;
  /** (final RSS − idle RSS) / bytes the store counts: memory per counted byte. */
  overheadPerStoredByte: number;
}

function answer(index: number, valueBytes: number): Record<string, unknown> {
  const words = `Answer ${index}: rotate the key in the console, then update the clients. `;
  return {
    id: `chatcmpl-${index}`,
    object: "chat.completion",
    model: "gpt-4o-mini",
    choices: [{
      index: 0,
      finish_reason: "stop",
      message: {
        role: "assistant",
        content: words.repeat(Math.ceil(valueBytes / words.length)).slice(0, valueBytes),
      },
    }],
    usage: { prompt_tokens: 42, completion_tokens: 800, total_tokens: 842 },
  };
}

async function sample(plugin: PluginProcess, pid: number, sets: number): Promise<FillSample> {
  const detail = (await checkHealth(plugin)).detail as Record<string, number>;
  return {
    sets,
    entries: detail.entries ?? 0,
    storeMiB: round((detail.bytes ?? 0) / 2 ** 20),
    rssMiB: round((readMemory(pid)?.rssKiB ?? 0) / 1024),
    evictions: detail.evictions ?? 0,
  };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/**
 * Fill a cache-memory process with distinct entries past its byte limit.
 *
 * @param options The byte limit, the size of each value, how long to settle, the binary
 * (default bin/cache-memory).
 * @returns The fill and the ratios.
 */
export async function measureCacheFill(
  options: { maxBytes: number; valueBytes?: number; settleMs?: number; command?: string },
): Promise<CacheFillResult> {
  const valueBytes = options.valueBytes ?? 4_000;
  const plugin = await PluginProcess.start({
    command: options.command ?? `${ROOT}/bin/cache-memory`,
    instance: "cache-fill",
    capabilities: ["cache_provider"],
    config: { max_bytes: options.maxBytes, max_entries: 10_000_000, default_ttl_ms: 3_600_000 },
    onLog: () => {},
    restart: false,
  });
  try {
    const pid = denoProcessOf(plugin.pid!).pid;
    await sleep(options.settleMs ?? 2_000);
    const idleMiB = round((readMemory(pid)?.rssKiB ?? 0) / 1024);
    const client = cacheProviderClient(plugin);
    const step = Math.max(500, Math.round(options.maxBytes / valueBytes / 8));
    const samples: FillSample[] = [];
    let sets = 0;
    let target = Infinity;
    while (sets < target) {
      const from = sets;
      await runConcurrent(step, (i) =>
        client.set({
          namespace: `tenant-${(from + i) % 10}`,
          key: (from + i).toString(16).padStart(64, "0"),
          value: answer(from + i, valueBytes),
        }));
      sets += step;
      const point = await sample(plugin, pid, sets);
      samples.push(point);
      if (point.evictions > 0 && target === Infinity) target = Math.round(sets * 1.25);
    }
    await sleep(Math.min(options.settleMs ?? 2_000, 1_000));
    const last = await sample(plugin, pid, sets);
    samples.push(last);
    const maxBytesMiB = options.maxBytes / 2 ** 20;
    return {
      maxBytesMiB,
      valueBytes: JSON.stringify(answer(0, valueBytes)).length,
      idleMiB,
      samples,
      rssPerMaxBytes: Math.round((last.rssMiB / maxBytesMiB) * 100) / 100,
      overheadPerStoredByte: Math.round(((last.rssMiB - idleMiB) / last.storeMiB) * 100) / 100,
    };
  } finally {
    await plugin.shutdown();
  }
}
