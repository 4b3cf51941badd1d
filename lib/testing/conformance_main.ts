// deno-lint-ignore-file no-console
/**
 * Command line of the conformance check:
 * `deno run -A lib/testing/conformance_main.ts <plugin-binary> --config <json|@file> [--bad-config <json|@file>]`.
 * Exits 1 when a check fails.
 *
 * @module
 */

import { checkConformance, type ConformanceOptions } from "./conformance.ts";

async function readJsonArg(value: string | undefined, flag: string): Promise<unknown> {
  if (value === undefined) throw new Error(`${flag} needs a value: JSON text or @path`);
  const text = value.startsWith("@") ? await Deno.readTextFile(value.slice(1)) : value;
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${flag}: the value is not JSON`);
  }
}

async function main(args: string[]): Promise<number> {
  const command = args[0];
  if (!command || command.startsWith("-")) {
    console.error(
      "Usage: conformance <plugin-binary> --config <json|@file> [--bad-config <json|@file>]",
    );
    return 2;
  }
  const options: ConformanceOptions = { config: {} };
  for (let i = 1; i < args.length; i++) {
    if (args[i] === "--config") options.config = await readJsonArg(args[++i], "--config");
    else if (args[i] === "--bad-config") {
      options.badConfig = await readJsonArg(args[++i], "--bad-config");
    } else throw new Error(`Unknown argument "${args[i]}"`);
  }
  const report = await checkConformance(command, options);
  console.log(`conformance of ${report.plugin ?? command}:`);
  for (const check of report.checks) {
    console.log(
      `  ${check.ok ? "ok  " : "FAIL"} ${check.name}${check.ok ? "" : `\n       ${check.detail}`}`,
    );
  }
  const failed = report.checks.filter((c) => !c.ok).length;
  console.log(`${report.checks.length - failed} passed, ${failed} failed`);
  return report.ok ? 0 : 1;
}

if (import.meta.main) {
  main(Deno.args).then(Deno.exit, (error) => {
    console.error((error as Error).message);
    Deno.exit(2);
  });
}
