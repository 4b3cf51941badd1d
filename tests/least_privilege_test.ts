/**
 * Least privilege for every plugin: the probe fixture runs under exactly the flags of the
 * plugin's `build:<plugin>` task, and every action outside them is refused (file read, file
 * write, an env var it is not granted, a subprocess, system info, a host outside a scoped net
 * grant), while what the flags grant is allowed (the control). `--describe` of each binary
 * reports the same grants.
 *
 * @module
 */

import assert from "node:assert/strict";
import { describePlugin } from "@vulpes/contract/host";
import { probe, withTcpServer } from "./_probe.ts";
import { declaredFlags, ROOT } from "./_support.ts";

function pluginNames(): string[] {
  const tasks = JSON.parse(Deno.readTextFileSync(`${ROOT}/deno.json`)).tasks ?? {};
  return Object.keys(tasks).filter((task) => task.startsWith("build:")).map((task) => task.slice(6))
    .sort();
}

/** The grant of each `--allow-<name>` flag: true for all, a list for a scoped grant. */
function grants(flags: string[]): Map<string, true | string[]> {
  const found = new Map<string, true | string[]>();
  for (const flag of flags) {
    const match = /^--allow-([a-z]+)(?:=(.*))?$/.exec(flag);
    if (match) found.set(match[1]!, match[2] === undefined ? true : match[2].split(","));
  }
  return found;
}

/** The outcome each action must have under a plugin's grants. */
function expectations(
  granted: Map<string, true | string[]>,
  port: number,
  tmp: string,
): Record<string, string> {
  const sysGrant = granted.get("sys");
  const expected: Record<string, string> = {
    [`read:${ROOT}/deno.json`]: granted.has("read") ? "allow" : "NotCapable",
    [`write:${tmp}/x`]: granted.has("write") ? "allow" : "NotCapable",
    "run:true": granted.has("run") ? "allow" : "NotCapable",
    // The probe's sys action reads the host name.
    "sys": sysGrant === true || (Array.isArray(sysGrant) && sysGrant.includes("hostname"))
      ? "allow"
      : "NotCapable",
  };
  // An env var outside a scoped grant (HOME unless the plugin is granted it).
  const envGrant = granted.get("env");
  const ungranted = ["HOME", "PATH", "USER", "VULPES_PROBE_UNGRANTED"].find((name) =>
    !(Array.isArray(envGrant) && envGrant.includes(name))
  )!;
  expected[`env:${ungranted}`] = envGrant === true ? "allow" : "NotCapable";
  const net = granted.get("net");
  if (net === undefined) {
    expected[`net:127.0.0.1:${port}`] = "NotCapable";
    expected[`fetch:http://127.0.0.1:${port}/`] = "NotCapable";
  } else if (net === true) {
    // A full grant (upstreams and collectors are configured at run time): loopback works.
    expected[`net:127.0.0.1:${port}`] = "allow";
  } else {
    // A scoped grant: a granted loopback host works, another loopback host is refused.
    if (net.includes("127.0.0.1")) expected[`net:127.0.0.1:${port}`] = "allow";
    expected[`net:127.0.0.2:${port}`] = "NotCapable";
    expected[`fetch:http://127.0.0.2:${port}/`] = "NotCapable";
    expected[`net:10.255.255.1:${port}`] = "NotCapable";
  }
  const env = granted.get("env");
  if (Array.isArray(env)) { for (const name of env.slice(0, 3)) expected[`env:${name}`] = "allow"; }
  return expected;
}

/**
 * Scoped grants a plugin's definition does not list in `permissionScopes`, so its `--describe`
 * cannot tell them from no grant (Deno reveals a scoped value only when it is queried by
 * name). observer-otel: its 21 OTEL_EXPORTER_OTLP_* names belong in its definition (as
 * observer-s3-transcripts lists its names).
 */
const UNLISTED_SCOPES: Record<string, string[]> = {};

for (const name of pluginNames()) {
  const flags = declaredFlags(name);
  const granted = grants(flags);
  const summary = granted.size === 0
    ? "no permission"
    : [...granted].map(([k, v]) => v === true ? k : `${k}=${v.length} scoped`).join(", ");

  Deno.test(`${name}'s declared flags (${summary}) refuse everything outside them`, async () => {
    const tmp = await Deno.makeTempDir();
    try {
      const expected = await withTcpServer(async (port) => {
        const expected = expectations(granted, port, tmp);
        const outcomes = await probe(flags, Object.keys(expected));
        assert.deepEqual(outcomes, expected);
        return expected;
      });
      assert.ok(Object.values(expected).includes("NotCapable"), "something was refused");
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  });

  const binary = `${ROOT}/bin/${name}`;
  let built = true;
  try {
    Deno.statSync(binary);
  } catch {
    built = false;
  }
  Deno.test({
    name: `bin/${name} --describe reports exactly the declared grants${
      built ? "" : ` (skipped: bin/${name} is missing, run "make build")`
    }`,
    ignore: !built,
    fn: async function describeMatchesFlags() {
      const manifest = await describePlugin(binary);
      const expected: Record<string, string> = {};
      for (const permission of ["read", "write", "net", "env", "run", "sys", "ffi"]) {
        const grant = granted.get(permission);
        expected[permission] = grant === undefined ? "none" : grant === true ? "all" : "partial";
      }
      const actual = { ...manifest.permissions };
      for (const permission of UNLISTED_SCOPES[name] ?? []) {
        // Reported as a plugin gap: accepted as "none" until its definition lists the values.
        if (actual[permission] === "none") actual[permission] = "partial";
      }
      assert.deepEqual(actual, expected);
    },
  });
}
