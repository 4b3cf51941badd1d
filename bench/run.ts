/**
 * `make bench` after the micro benchmarks: the stdio hop, the end-to-end comparison and the
 * memory figures, each in a process of its own and one after the other (so none measures
 * under another's load), into bench/results/report.md with the machine and the date.
 *
 * Run: `deno run -A bench/run.ts [--quick]` after `deno task build`.
 *
 * @module
 */
// deno-lint-ignore-file no-console

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const PARTS = ["stdio_hop.ts", "e2e.ts", "memory.ts"];

async function runPart(script: string, args: string[]): Promise<string> {
  console.error(`bench: running bench/${script} ${args.join(" ")}`);
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--quiet", "--config", `${ROOT}/deno.json`, script, ...args],
    cwd: `${ROOT}/bench`,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  if (!output.success) {
    return `## bench/${script}\n\nFailed with code ${output.code}; its output:\n\n${text}\n`;
  }
  return text;
}

async function main(): Promise<number> {
  const args = Deno.args.filter((arg) => arg === "--quick");
  const cpu = /model name\s*:\s*(.+)/.exec(await Deno.readTextFile("/proc/cpuinfo"))?.[1];
  const header = `# make bench, ${new Date().toISOString()}\n\n${
    cpu ?? "unknown CPU"
  } × ${navigator.hardwareConcurrency}, Deno ${Deno.version.deno}, load average at start ${
    Deno.loadavg().map((n) => n.toFixed(2)).join(" ")
  }\n`;
  const sections = [header];
  for (const part of PARTS) sections.push(await runPart(part, args));
  const report = sections.join("\n");
  await Deno.mkdir(`${ROOT}/bench/results`, { recursive: true });
  await Deno.writeTextFile(`${ROOT}/bench/results/report.md`, report);
  console.log(report);
  console.error("bench: written to bench/results/report.md");
  return report.includes("Failed with code") ? 1 : 0;
}

if (import.meta.main) main().then(Deno.exit);
