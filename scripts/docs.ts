// deno-lint-ignore-file no-console
/**
 * Regenerates the config table of every plugin README from its config.ts.
 * Usage: deno task docs [plugin ...]
 *
 * @module
 */

import { configTable, withConfigTable } from "./_config_table.ts";

function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

async function main(): Promise<void> {
  for await (const entry of Deno.readDir(`${root}/plugins`)) {
    if (!entry.isDirectory) continue;
    if (Deno.args.length > 0 && !Deno.args.includes(entry.name)) continue;
    const dir = `${root}/plugins/${entry.name}`;
    const missing = ["config.ts", "README.md"].filter((f) => !existsSync(`${dir}/${f}`));
    if (missing.length > 0) {
      console.error(`skipped plugins/${entry.name}: no ${missing.join(", ")}`);
      continue;
    }
    const { configSchema } = await import(`${dir}/config.ts`);
    const readme = await Deno.readTextFile(`${dir}/README.md`);
    const updated = withConfigTable(readme, configTable(configSchema));
    if (updated !== readme) {
      await Deno.writeTextFile(`${dir}/README.md`, updated);
      console.error(`updated plugins/${entry.name}/README.md`);
    }
  }
}

if (import.meta.main) main();
