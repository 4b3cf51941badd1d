/**
 * Helpers shared by tests that run built plugins: where bin/ is, and a clear failure when a
 * plugin was not built.
 *
 * @module
 */

/** The project root. */
export const ROOT: string = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** Path of bin/<plugin>; throws with the command to run when it is missing. */
export function pluginBinary(name: string): string {
  const path = `${ROOT}/bin/${name}`;
  try {
    Deno.statSync(path);
  } catch {
    throw new Error(`${path} is missing: run "make build" (make test does it) first`);
  }
  return path;
}

/** The flags of a plugin's `build:<plugin>` task in deno.json. */
export function declaredFlags(name: string): string[] {
  const config = JSON.parse(Deno.readTextFileSync(`${ROOT}/deno.json`));
  const task: string | undefined = config.tasks?.[`build:${name}`];
  if (!task) throw new Error(`deno.json has no task "build:${name}"`);
  return task.split(/\s+/).filter((word) => /^--(allow|deny)-|^--no-prompt$/.test(word));
}

/** Hex SHA-256 of a string, as written in config. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * `plugin` (a `PluginProcess`) with a `[Symbol.asyncDispose]` that calls its `shutdown()`, so
 * that `await using plugin = shutsDown(await start())` shuts it down when the block is left,
 * also when an assertion throws. A test may still shut it down itself first: `shutdown()` can be
 * called twice.
 */
export function shutsDown<T extends { shutdown(): Promise<void> }>(
  plugin: T,
): T & AsyncDisposable {
  return Object.assign(plugin, { [Symbol.asyncDispose]: () => plugin.shutdown() });
}
