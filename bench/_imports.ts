/**
 * What imports cost in resident memory: each probe is a tiny script that only imports some
 * modules, waits, and reports its RSS and V8 heap. Compared with an empty script they show
 * where a plugin's idle RSS comes from (the runtime, zod, the contract library, npm SDKs).
 *
 * @module
 */

import { percentile } from "./_stats.ts";
import { ROOT } from "./_loads.ts";
import { waitExit } from "./_startup.ts";

/** One probe: a label and the specifiers it imports. */
export interface ImportProbe {
  /** What it shows. */
  label: string;
  /** Bare specifiers (resolved by deno.json) or paths relative to the repository root. */
  imports: string[];
}

/** The RSS of one probe. */
export interface ImportResult {
  /** The probe's label. */
  label: string;
  /** Median RSS after the imports and a settle, MiB. */
  rssMiB: number;
  /** The same minus the empty script's, MiB. */
  deltaMiB: number;
  /** V8 heap used, MiB. */
  heapMiB: number;
}

const OTEL_HTTP = [
  "@opentelemetry/api",
  "@opentelemetry/core",
  "@opentelemetry/resources",
  "@opentelemetry/sdk-trace",
  "@opentelemetry/sdk-metrics",
  "@opentelemetry/exporter-trace-otlp-http",
  "@opentelemetry/exporter-metrics-otlp-http",
];

/** The probes of the report, the empty script first. */
export const IMPORT_PROBES: readonly ImportProbe[] = [
  { label: "empty script", imports: [] },
  { label: "zod", imports: ["zod"] },
  {
    label: "node:net (lib/plugin/_stdio.ts opens stdio as node:net sockets)",
    imports: ["node:net"],
  },
  { label: "lib/capabilities (zod + every schema)", imports: ["lib/capabilities/mod.ts"] },
  { label: "lib/plugin", imports: ["lib/plugin/mod.ts"] },
  { label: "plugins/router-weighted/mod.ts", imports: ["plugins/router-weighted/mod.ts"] },
  { label: "prom-client", imports: ["prom-client"] },
  { label: "pg", imports: ["pg"] },
  { label: "@aws-sdk/client-s3", imports: ["@aws-sdk/client-s3"] },
  { label: "mustache", imports: ["mustache"] },
  {
    label: "OpenTelemetry as _otel.ts imports it (JSON + protobuf exporters)",
    imports: [
      ...OTEL_HTTP,
      "@opentelemetry/exporter-trace-otlp-proto",
      "@opentelemetry/exporter-metrics-otlp-proto",
    ],
  },
  { label: "OpenTelemetry, JSON exporters only", imports: OTEL_HTTP },
  { label: "plugins/observer-otel/mod.ts", imports: ["plugins/observer-otel/mod.ts"] },
  {
    label: "plugins/observer-s3-transcripts/mod.ts (S3 + pg)",
    imports: ["plugins/observer-s3-transcripts/mod.ts"],
  },
  {
    label: "plugins/observer-s3-transcripts/_s3.ts (S3 without pg)",
    imports: ["lib/plugin/mod.ts", "plugins/observer-s3-transcripts/_s3.ts"],
  },
  { label: "plugins/observer-prometheus/mod.ts", imports: ["plugins/observer-prometheus/mod.ts"] },
  {
    label: "plugins/authn-postgres-api-key/mod.ts",
    imports: ["plugins/authn-postgres-api-key/mod.ts"],
  },
];

function script(probe: ImportProbe, settleMs: number): string {
  const specifier = (s: string) => /^(lib|plugins)\//.test(s) ? `file://${ROOT}/${s}` : s;
  const imports = probe.imports.map((s) => `import ${JSON.stringify(specifier(s))};`).join("\n");
  return `${imports}
setTimeout(() => {
  const status = Deno.readTextFileSync("/proc/self/status");
  const rss = Number(/VmRSS:\\s+(\\d+)/.exec(status)?.[1] ?? 0);
  const heap = Deno.memoryUsage().heapUsed;
  Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify({ rss, heap }) + "\\n"));
}, ${settleMs});
`;
}

async function runProbe(file: string): Promise<{ rss: number; heap: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      "--cached-only",
      "--config",
      `${ROOT}/deno.json`,
      "-A",
      file,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const [out, err] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  clearTimeout(timer);
  await waitExit(child, 1_000);
  if (!out.trim()) throw new Error(`Import probe ${file} failed: ${err.slice(0, 500)}`);
  return JSON.parse(out);
}

/**
 * Run every probe `runs` times (the probes of one run in parallel: RSS does not depend on
 * the CPU left) and report medians.
 *
 * @param options Runs, settle time, probes.
 * @returns One result per probe, in the order given.
 */
export async function measureImports(
  options: { runs?: number; settleMs?: number; probes?: readonly ImportProbe[] } = {},
): Promise<ImportResult[]> {
  const probes = options.probes ?? IMPORT_PROBES;
  const dir = await Deno.makeTempDir({ prefix: "vulpes-bench-imports-" });
  try {
    const files = probes.map((probe, i) => {
      const file = `${dir}/probe_${i}.ts`;
      Deno.writeTextFileSync(file, script(probe, options.settleMs ?? 2_000));
      return file;
    });
    const samples = probes.map(() => ({ rss: [] as number[], heap: [] as number[] }));
    for (let run = 0; run < (options.runs ?? 3); run++) {
      const results = await Promise.all(files.map(runProbe));
      results.forEach((result, i) => {
        samples[i]!.rss.push(result.rss / 1024);
        samples[i]!.heap.push(result.heap / 2 ** 20);
      });
    }
    const medians = samples.map((s) => ({
      rss: percentile(s.rss).p50,
      heap: percentile(s.heap).p50,
    }));
    const empty = medians[0]!.rss;
    return probes.map((probe, i) => ({
      label: probe.label,
      rssMiB: round(medians[i]!.rss),
      deltaMiB: round(medians[i]!.rss - empty),
      heapMiB: round(medians[i]!.heap),
    }));
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
