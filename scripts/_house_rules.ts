/** Lists every breach of the house rules under a project root. */
export async function houseRuleProblems(root: string): Promise<string[]> {
  const problems: string[] = [];
  const files = await listFiles(root, ["lib", "plugins", "examples", "scripts"]);
  const config = JSON.parse(await Deno.readTextFile(`${root}/deno.json`));
  const readme = await Deno.readTextFile(`${root}/README.md`).catch(() => "");
  for (const file of files) {
    const relative = file.slice(root.length).replace(/^\//, "");
    if (/(^|\/)index\.ts$/.test(relative)) {
      problems.push(`${relative}: no index.ts files; name the module for its job`);
    }
    if (!relative.endsWith(".ts")) continue;
    const text = await Deno.readTextFile(file);
    if (/^\s*export\s+default\b/m.test(text)) {
      problems.push(`${relative}: default export; use a named export`);
    }
    if (
      /^plugins\/[^/]+\/mod\.ts$/.test(relative) &&
      /\bDeno\.(stdin|stdout|exit|args|env)\b/.test(text)
    ) {
      problems.push(
        `${relative}: mod.ts reads process state (Deno.stdin/stdout/exit/args/env); move it to main.ts`,
      );
    }
    const retaining = isProductCode(relative) ? lineWithRetainingSignal(text) : 0;
    if (retaining > 0) {
      problems.push(
        `${relative}:${retaining}: AbortSignal.any/timeout keeps each operation reachable from a ` +
          "long-lived signal or a pending timer; use operationSignal() from @vulpes/contract/plugin",
      );
    }
  }
  const pluginDirs = (await exists(`${root}/plugins`))
    ? await Array.fromAsync(Deno.readDir(`${root}/plugins`))
    : [];
  for (const entry of pluginDirs) {
    if (!entry.isDirectory) continue;
    const name = entry.name;
    for (const required of ["README.md", "config.ts", "mod.ts", "main.ts"]) {
      if (!(await exists(`${root}/plugins/${name}/${required}`))) {
        problems.push(`plugins/${name}: missing ${required}`);
      }
    }
    const hasTest = files.some((f) => f.includes(`/plugins/${name}/`) && f.endsWith("_test.ts"));
    if (!hasTest) problems.push(`plugins/${name}: no *_test.ts beside the code`);
    if (typeof config.tasks?.[`build:${name}`] !== "string") {
      problems.push(
        `plugins/${name}: deno.json has no "build:${name}" task declaring its permissions`,
      );
    }
    if (!readme.includes(`plugins/${name}/`)) {
      problems.push(`README.md: no link to plugins/${name}/`);
    }
  }
  return problems;
}

/** Code that runs in a gateway or a plugin: not tests, test servers or scripts. */
function isProductCode(relative: string): boolean {
  return /^(lib|plugins|examples)\//.test(relative) && !relative.startsWith("lib/testing/") &&
    !relative.endsWith("_test.ts") && !relative.includes("/testdata/");
}

/** The 1-based line of the first AbortSignal.any( or AbortSignal.timeout( in code, or 0. */
function lineWithRetainingSignal(text: string): number {
  const lines = text.split("\n");
  const index = lines.findIndex((line) =>
    !/^\s*(\*|\/\/|\/\*)/.test(line) && /\bAbortSignal\.(any|timeout)\(/.test(line)
  );
  return index + 1;
}

async function listFiles(root: string, folders: string[]): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string): Promise<void> {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.isFile) out.push(path);
    }
  }
  for (const folder of folders) {
    if (await exists(`${root}/${folder}`)) await walk(`${root}/${folder}`);
  }
  return out;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
