/**
 * Least privilege: a plugin runs with exactly the flags its deno.json task declares, and a
 * plugin declared with none cannot reach the network, files, environment or processes.
 */

import assert from "node:assert/strict";
import { describePlugin } from "@vulpes/contract/host";
import { probe, withTcpServer } from "./_probe.ts";

/** Outcomes keyed by the kind of action (`net`, `read`, …) rather than the whole action. */
function byKind(outcomes: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(outcomes).map(([action, o]) => [action.split(":")[0]!, o]),
  );
}
import { declaredFlags, pluginBinary, ROOT } from "./_support.ts";

Deno.test("a plugin with authn-static-api-key's flags cannot use the network, files, env, processes or sys", async () => {
  const flags = declaredFlags("authn-static-api-key");
  assert.ok(!flags.some((flag) => flag.startsWith("--allow-")), `it declares ${flags.join(" ")}`);
  const tmp = await Deno.makeTempDir();
  try {
    const outcomes = byKind(
      await withTcpServer((port) =>
        probe(flags, [
          `net:127.0.0.1:${port}`,
          `fetch:http://127.0.0.1:${port}/`,
          `read:${ROOT}/deno.json`,
          `write:${tmp}/x`,
          "env:HOME",
          "run:true",
          "sys",
        ])
      ),
    );
    assert.deepEqual(outcomes, {
      net: "NotCapable",
      fetch: "NotCapable",
      read: "NotCapable",
      write: "NotCapable",
      env: "NotCapable",
      run: "NotCapable",
      sys: "NotCapable",
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("the probe is allowed exactly what a flag grants (control for the test above)", async () => {
  const outcomes = byKind(
    await withTcpServer((port) =>
      probe(["--no-prompt", "--allow-net=127.0.0.1"], [
        `net:127.0.0.1:${port}`,
        `read:${ROOT}/deno.json`,
      ])
    ),
  );
  assert.deepEqual(outcomes, { net: "allow", read: "NotCapable" });
});

Deno.test("bin/authn-static-api-key holds no permission at all", async () => {
  const manifest = await describePlugin(pluginBinary("authn-static-api-key"));
  assert.deepEqual(manifest.permissions, {
    read: "none",
    write: "none",
    net: "none",
    env: "none",
    run: "none",
    sys: "none",
    ffi: "none",
  });
});

Deno.test("bin/authn-static-api-key runs with the flags declared in deno.json, and only those", async () => {
  const binary = pluginBinary("authn-static-api-key");
  const text = await Deno.readTextFile(binary).catch(() => null);
  const flags = declaredFlags("authn-static-api-key");
  if (text !== null && text.startsWith("#!/bin/sh")) {
    // A launcher: its command line carries exactly the declared flags.
    const used = [...text.matchAll(/'(--(?:allow|deny)-[^']*|--no-prompt)'/g)].map((m) => m[1]);
    assert.deepEqual(used, flags);
  }
  const manifest = await describePlugin(binary);
  const granted = Object.entries(manifest.permissions).filter(([, grant]) => grant !== "none");
  const declared = flags.filter((flag) => flag.startsWith("--allow-")).map((flag) =>
    flag.slice(8).split("=")[0]
  );
  assert.deepEqual(granted.map(([name]) => name).sort(), declared.sort());
});
