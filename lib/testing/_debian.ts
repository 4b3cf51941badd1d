/**
 * Programs that tests need from a Debian package (redis-server, prometheus): found on PATH,
 * or installed with apt-get when the tests run as root.
 *
 * @module
 */

/**
 * Find every program on PATH (or /usr/bin, /usr/sbin), installing the Debian package that
 * holds them when one is missing and the process runs as root.
 *
 * @param pkg The Debian package.
 * @param programs The programs it provides, all of them needed.
 * @returns The path of each program, by name.
 * @throws {Error} When one is missing and cannot be installed; the message says what to run.
 */
export async function debianPrograms(
  pkg: string,
  programs: readonly string[],
): Promise<Record<string, string>> {
  let found = await allOnPath(programs);
  if (found) return found;
  const command = `sudo apt-get install --no-install-recommends ${pkg}`;
  if (Deno.uid() !== 0) {
    throw new Error(
      `${programs.join(" and ")} not on PATH and the tests do not run as root, so they ` +
        `cannot install it: run \`${command}\` (Debian/Ubuntu) or put it on PATH`,
    );
  }
  // Test files run in parallel and may all find the program missing: one apt-get at a time
  // (flock), and none once another has installed the package.
  const install = `dpkg-query -W -f='\${Status}' ${pkg} 2>/dev/null | grep -q 'ok installed' || ` +
    `{ apt-get update -q && apt-get install -y -q --no-install-recommends ${pkg}; }`;
  await run(["flock", APT_LOCK, "sh", "-c", install], { DEBIAN_FRONTEND: "noninteractive" });
  found = await allOnPath(programs);
  if (!found) {
    throw new Error(
      `Installed the Debian package ${pkg}, but ${programs.join(" or ")} is still not on PATH`,
    );
  }
  return found;
}

const APT_LOCK = "/tmp/vulpes-tests-apt.lock";

async function allOnPath(programs: readonly string[]): Promise<Record<string, string> | null> {
  const found: Record<string, string> = {};
  for (const program of programs) {
    const path = await which(program);
    if (path === null) return null;
    found[program] = path;
  }
  return found;
}

async function which(name: string): Promise<string | null> {
  const path = Deno.env.get("PATH") ?? "/usr/local/bin:/usr/bin:/bin";
  for (const dir of [...path.split(":"), "/usr/bin", "/usr/sbin"]) {
    if (dir === "") continue;
    try {
      const info = await Deno.stat(`${dir}/${name}`);
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return `${dir}/${name}`;
    } catch { /* not here */ }
  }
  return null;
}

async function run(command: string[], env: Record<string, string>): Promise<void> {
  const output = await new Deno.Command(command[0]!, {
    args: command.slice(1),
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr).slice(-2000);
    throw new Error(`Cannot run \`${command.join(" ")}\` (exit ${output.code}): ${stderr}`);
  }
}
