// deno-lint-ignore-file no-console
/**
 * Builds every plugin into bin/<plugin> from its `build:<plugin>` task in deno.json, which
 * declares the plugin's permission flags once.
 *
 * Each entry is type-checked, then bundled into one file (bin/bundles/<plugin>.js, with a linked
 * source map): a plugin then starts without resolving hundreds of modules, and what the bundler
 * can drop (zod's unused locales) never loads. With the compile runtime (denort) at hand, online
 * or through DENORT_BIN, `deno compile` makes a self-contained binary of that bundle with the
 * task's flags. Without it, bin/<plugin> becomes a launcher that runs the same bundle with
 * exactly the same flags, and this says so.
 *
 * Usage: deno task build [plugin ...]
 *
 * @module
 */

import { planBuild, type PluginBuild } from "./_build_plan.ts";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const deno = Deno.execPath();

async function run(args: string[], quiet = false): Promise<{ ok: boolean; stderr: string }> {
  const output = await new Deno.Command(deno, {
    args,
    cwd: root,
    stdout: quiet ? "piped" : "inherit",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  return { ok: output.success, stderr };
}

function runtimeMissing(stderr: string): boolean {
  return /denort|Setting up base binary|dl\.deno\.land/i.test(stderr);
}

/**
 * Where a file is written before it replaces bin/'s: a rename never leaves a half-written file,
 * nor a missing one, for a plugin that starts during a build (a test run beside `make build`).
 */
function staged(path: string): string {
  return `${root}/bin/.staging-${Deno.pid}/${path.slice(path.lastIndexOf("/") + 1)}`;
}

async function compile(build: PluginBuild): Promise<"compiled" | "no-runtime"> {
  // deno compile refuses to overwrite a file that is not a binary it made (a launcher).
  await Deno.remove(staged(build.output)).catch(() => {});
  const result = await run([
    "compile",
    "--quiet",
    ...build.flags,
    "--output",
    staged(build.output),
    build.bundle,
  ]);
  if (result.ok) {
    await Deno.rename(staged(build.output), `${root}/${build.output}`);
    return "compiled";
  }
  if (runtimeMissing(result.stderr)) return "no-runtime";
  console.error(result.stderr);
  throw new Error(`Cannot build ${build.name}: deno compile failed (see above)`);
}

async function typeCheck(builds: PluginBuild[]): Promise<void> {
  const check = await run(["check", "--quiet", ...builds.map((build) => build.entry)]);
  if (!check.ok) {
    console.error(check.stderr);
    throw new Error(
      `Cannot build ${builds.map((build) => build.name).join(", ")}: type check failed (see above)`,
    );
  }
}

async function bundle(build: PluginBuild): Promise<void> {
  // Same file name in the staging folder: the bundle's sourceMappingURL names its map.
  const result = await run([
    "bundle",
    "--quiet",
    "--platform=deno",
    "--sourcemap=linked",
    "--output",
    staged(build.bundle),
    build.entry,
  ]);
  if (!result.ok) {
    console.error(result.stderr);
    throw new Error(`Cannot build ${build.name}: deno bundle ${build.entry} failed (see above)`);
  }
  await Deno.rename(`${staged(build.bundle)}.map`, `${root}/${build.bundle}.map`);
  await Deno.rename(staged(build.bundle), `${root}/${build.bundle}`);
}

async function writeLauncher(build: PluginBuild): Promise<void> {
  const denoDir = Deno.env.get("DENO_DIR");
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const script = [
    "#!/bin/sh",
    `# Launcher for the ${build.name} plugin, written by scripts/build.ts because \`deno compile\``,
    `# could not get its runtime (denort) here. It runs the bundle of ${build.entry} with exactly`,
    `# the flags of the deno.json task "build:${build.name}". Set DENORT_BIN, or build online, for a binary.`,
    ...(denoDir ? [`DENO_DIR=${quote(denoDir)}; export DENO_DIR`] : []),
    `exec ${quote(deno)} run --quiet --cached-only --config ${quote(`${root}/deno.json`)} ${
      build.flags.map(quote).join(" ")
    } ${quote(`${root}/${build.bundle}`)} "$@"`,
    "",
  ].join("\n");
  await Deno.writeTextFile(staged(build.output), script, { mode: 0o755 });
  await Deno.chmod(staged(build.output), 0o755);
  await Deno.rename(staged(build.output), `${root}/${build.output}`);
}

async function main(): Promise<void> {
  const config = JSON.parse(await Deno.readTextFile(`${root}/deno.json`));
  const builds = planBuild(config.tasks ?? {}, Deno.args);
  await Deno.mkdir(`${root}/bin/bundles`, { recursive: true });
  await typeCheck(builds);
  const staging = `${root}/bin/.staging-${Deno.pid}`;
  await Deno.mkdir(staging, { recursive: true });
  try {
    await buildAll(builds);
  } finally {
    await Deno.remove(staging, { recursive: true });
  }
}

async function buildAll(builds: PluginBuild[]): Promise<void> {
  let mode: "compile" | "launcher" = "compile";
  const launchers: string[] = [];
  for (const build of builds) {
    await bundle(build);
    if (mode === "compile" && (await compile(build)) === "no-runtime") {
      mode = "launcher";
      console.error(
        "\nWARNING: deno compile cannot get its runtime (denort): no network and DENORT_BIN is unset.\n" +
          "         bin/ gets launchers that run each plugin's bundle with exactly its deno.json flags.\n" +
          "         Set DENORT_BIN to a denort binary of this Deno version to build real binaries.\n",
      );
    }
    if (mode === "launcher") {
      await writeLauncher(build);
      launchers.push(build.name);
    }
    console.error(`built bin/${build.name} (${mode === "compile" ? "binary" : "launcher"})`);
  }
  if (launchers.length > 0) {
    console.error(`\n${launchers.length} of ${builds.length} plugins are launchers, not binaries.`);
  }
}

if (import.meta.main) {
  main().catch((error) => {
    console.error((error as Error).message);
    Deno.exit(1);
  });
}
