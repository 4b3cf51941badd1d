import assert from "node:assert/strict";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

/** The manifest permissions of a tiny plugin run with the given flags. */
async function permissionsUnder(
  flags: string[],
  scopes: Record<string, string[]>,
): Promise<Record<string, string>> {
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/describe.ts`;
    await Deno.writeTextFile(
      script,
      `import * as z from "zod";
import { buildManifest } from "${ROOT}/lib/plugin/manifest.ts";
import { definePlugin } from "${ROOT}/lib/plugin/definition.ts";
const manifest = buildManifest(definePlugin({
  name: "scoped", version: "0.0.0", description: "Scoped", capabilities: ["observer"],
  config: z.strictObject({}), create: () => ({ observer: { emit: () => {} } }),
  permissionScopes: ${JSON.stringify(scopes)},
}) as never);
Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(manifest.permissions)));
`,
    );
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "--cached-only", "--config", `${ROOT}/deno.json`, ...flags, script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    return JSON.parse(new TextDecoder().decode(output.stdout));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("buildManifest() reports scoped grants as partial, full ones as all, others as none", async () => {
  const permissions = await permissionsUnder(
    [
      "--no-prompt",
      "--allow-net=127.0.0.1,0.0.0.0",
      "--allow-env=VULPES_X",
      "--allow-sys=hostname",
    ],
    { env: ["VULPES_X"] },
  );
  assert.deepEqual(permissions, {
    read: "none",
    write: "none",
    net: "partial",
    env: "partial",
    run: "none",
    sys: "partial",
    ffi: "none",
  });
  const full = await permissionsUnder(["--no-prompt", "--allow-net", "--allow-read"], {});
  assert.equal(full.net, "all");
  assert.equal(full.read, "all");
  assert.equal(full.env, "none");
});

Deno.test("buildManifest() cannot see a scoped env grant that the definition does not list", async () => {
  // Deno offers no query that reveals unknown scoped values: the definition must name them.
  const permissions = await permissionsUnder(["--no-prompt", "--allow-env=VULPES_X"], {});
  assert.equal(permissions.env, "none");
});
