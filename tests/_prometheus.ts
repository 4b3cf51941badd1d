/**
 * Prometheus' own tools for tests: `promtool` (checks the exposition format) and `prometheus`
 * (a real server that scrapes a plugin). Both come from the Debian package `prometheus`; when
 * they are not on PATH and the tests run as root, the package is installed with apt-get
 * (`--no-install-recommends`, so no node exporter comes with it). Otherwise the helpers throw
 * with the command to run.
 *
 * @module
 */

import { debianPrograms } from "../lib/testing/_debian.ts";

/** Paths of the two binaries. */
export interface PrometheusTools {
  /** `promtool`. */
  promtool: string;
  /** `prometheus`. */
  prometheus: string;
}

let found: Promise<PrometheusTools> | undefined;

/**
 * Find `promtool` and `prometheus`, installing the Debian package when they are missing and
 * the process runs as root. Installs at most once per test process.
 *
 * @returns Their paths.
 */
export function prometheusTools(): Promise<PrometheusTools> {
  found ??= locate();
  return found;
}

async function locate(): Promise<PrometheusTools> {
  const { promtool, prometheus } = await debianPrograms("prometheus", ["promtool", "prometheus"]);
  return { promtool: promtool!, prometheus: prometheus! };
}

/** What `promtool check metrics` said. */
export interface PromtoolReport {
  /** Whether it exited 0 (no errors; lint warnings alone also exit non-zero). */
  ok: boolean;
  /** Its output, stdout and stderr. */
  output: string;
}

/**
 * Run `promtool check metrics` on an exposition text (stdin), with its linter.
 *
 * @param text The text served at `/metrics`.
 * @returns Whether it passed, and what it printed.
 */
export async function promtoolCheckMetrics(text: string): Promise<PromtoolReport> {
  const { promtool } = await prometheusTools();
  const child = new Deno.Command(promtool, {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const output = await child.output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { ok: output.success, output: decode(output.stdout) + decode(output.stderr) };
}

/**
 * Check PromQL expressions with `promtool check rules`, each as a recording rule.
 *
 * @param expressions The queries.
 * @returns Whether promtool accepted them, and what it printed.
 */
export async function promtoolCheckRules(expressions: string[]): Promise<PromtoolReport> {
  const { promtool } = await prometheusTools();
  const dir = await Deno.makeTempDir({ prefix: "vulpes-promql-" });
  try {
    const rules = expressions.map((expr, i) =>
      `      - record: readme:query${i}\n        expr: ${JSON.stringify(expr)}`
    );
    const file = `${dir}/rules.yml`;
    await Deno.writeTextFile(
      file,
      `groups:\n  - name: readme\n    rules:\n${rules.join("\n")}\n`,
    );
    const output = await new Deno.Command(promtool, {
      args: ["check", "rules", file],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    return { ok: output.success, output: decode(output.stdout) + decode(output.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** A running Prometheus server. */
export interface PrometheusServer {
  /** Its base URL, `http://127.0.0.1:<port>`. */
  url: string;
  /** Everything it logged so far. */
  log(): string;
  /** Stop it (SIGTERM, then SIGKILL after 5 s) and remove its directory. */
  stop(): Promise<void>;
}

/** Options of {@linkcode startPrometheus}. */
export interface StartPrometheusOptions {
  /** `host:port` of each target to scrape at `/metrics`. */
  targets: string[];
  /**
   * The path scraped.
   *
   * @default {"/metrics"}
   */
  metricsPath?: string;
  /**
   * Scrape interval, in seconds.
   *
   * @default {1}
   */
  scrapeIntervalS?: number;
}

/**
 * Start a real Prometheus server on a free 127.0.0.1 port, with its storage in a temporary
 * directory, scraping the given targets. Prometheus listens only on its `--web.listen-address`
 * (its default is `0.0.0.0:9090`, so the address is always given); the admin API and the
 * remote-write receiver stay off (their defaults).
 *
 * @param options The targets and interval.
 * @returns The server.
 */
export async function startPrometheus(options: StartPrometheusOptions): Promise<PrometheusServer> {
  const { prometheus } = await prometheusTools();
  const dir = await Deno.makeTempDir({ prefix: "vulpes-prometheus-" });
  const interval = options.scrapeIntervalS ?? 1;
  const config = [
    "global:",
    `  scrape_interval: ${interval}s`,
    `  scrape_timeout: ${interval}s`,
    "scrape_configs:",
    "  - job_name: vulpes",
    `    metrics_path: ${JSON.stringify(options.metricsPath ?? "/metrics")}`,
    "    static_configs:",
    `      - targets: ${JSON.stringify(options.targets)}`,
    "",
  ].join("\n");
  const port = freePort();
  let child: Deno.ChildProcess;
  try {
    await Deno.writeTextFile(`${dir}/prometheus.yml`, config);
    child = new Deno.Command(prometheus, {
      args: [
        `--config.file=${dir}/prometheus.yml`,
        `--storage.tsdb.path=${dir}/data`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=warn",
      ],
      cwd: dir,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }
  let logged = "";
  const decoder = new TextDecoder();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) logged += decoder.decode(chunk, { stream: true });
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  let stopped = false;
  async function stop(): Promise<void> {
    if (stopped) return;
    stopped = true;
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    const killer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }, 5000);
    await child.status;
    clearTimeout(killer);
    await drained;
    await Deno.remove(dir, { recursive: true });
  }
  return { url: `http://127.0.0.1:${port}`, log: () => logged, stop };
}

/**
 * Ask a Prometheus server for an instant query until it returns at least one sample, or the
 * time runs out.
 *
 * @param server The server.
 * @param query A PromQL query.
 * @param timeoutMs How long to keep asking.
 * @returns The samples (`data.result` of the API answer).
 */
export async function waitForSamples(
  server: PrometheusServer,
  query: string,
  timeoutMs = 30_000,
): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const response = await fetch(
        `${server.url}/api/v1/query?query=${encodeURIComponent(query)}`,
        { signal: AbortSignal.timeout(2000) },
      );
      last = await response.text();
      const body = JSON.parse(last);
      if (body.status === "success" && body.data.result.length > 0) return body.data.result;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(
    `Prometheus returned no sample for ${query} within ${timeoutMs} ms; last answer: ${last}\n` +
      `its log:\n${server.log().slice(-3000)}`,
  );
}
