/** One plugin to build, read from its `build:<plugin>` task. */
export interface PluginBuild {
  name: string;
  /** Permission and runtime flags, exactly as in the task. */
  flags: string[];
  /** Entry module, relative to the project root. */
  entry: string;
  /** Output path, relative to the project root. */
  output: string;
  /** The entry bundled into one module (what is compiled or launched), relative to the root. */
  bundle: string;
}

/** Permission flags, --no-prompt, and V8 flags (runtime tuning, no permission). */
const FLAG = /^--(allow|deny)-[a-z-]+(=.+)?$|^--no-prompt$|^--v8-flags=[a-z0-9=,-]+$/;

/**
 * Reads every `build:<plugin>` task (`deno compile <flags> --output bin/<plugin> <entry>`)
 * and checks its shape, so a typo in a flag fails the build instead of changing a sandbox.
 */
export function planBuild(tasks: Record<string, unknown>, only: string[] = []): PluginBuild[] {
  const builds: PluginBuild[] = [];
  for (const [task, command] of Object.entries(tasks)) {
    if (!task.startsWith("build:")) continue;
    const name = task.slice("build:".length);
    if (only.length > 0 && !only.includes(name)) continue;
    builds.push(parseTask(task, name, typeof command === "string" ? command : ""));
  }
  const unknown = only.filter((name) => !builds.some((b) => b.name === name));
  if (unknown.length > 0) {
    throw new Error(
      `Cannot build ${unknown.join(", ")}: no such "build:<plugin>" task in deno.json`,
    );
  }
  return builds;
}

function parseTask(task: string, name: string, command: string): PluginBuild {
  const words = command.trim().split(/\s+/);
  const where = `deno.json task "${task}"`;
  if (words[0] !== "deno" || words[1] !== "compile") {
    throw new Error(
      `Cannot read ${where}: expected "deno compile <flags> --output bin/${name} <entry>"`,
    );
  }
  const flags: string[] = [];
  let output: string | undefined;
  let entry: string | undefined;
  for (let i = 2; i < words.length; i++) {
    const word = words[i]!;
    if (word === "--output" || word === "-o") output = words[++i];
    else if (FLAG.test(word)) flags.push(word);
    else if (word.startsWith("-")) {
      throw new Error(
        `Cannot read ${where}: unexpected flag "${word}"; only --allow-*, --deny-*, --no-prompt and --v8-flags=`,
      );
    } else if (entry === undefined) entry = word;
    else throw new Error(`Cannot read ${where}: unexpected word "${word}" after the entry`);
  }
  if (output !== `bin/${name}`) {
    throw new Error(
      `Cannot read ${where}: expected "--output bin/${name}", found ${JSON.stringify(output)}`,
    );
  }
  if (entry !== `plugins/${name}/main.ts`) {
    throw new Error(
      `Cannot read ${where}: expected the entry "plugins/${name}/main.ts", found ${
        JSON.stringify(entry)
      }`,
    );
  }
  return { name, flags, entry, output, bundle: `bin/bundles/${name}.js` };
}
