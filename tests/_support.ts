/**
 * Helpers shared by tests that run built plugins: where bin/ is, a clear failure when a plugin
 * was not built, the assertions every plugin's process test makes alike (the conformance check,
 * the permissions declared and described, a refused config), and a retry across a rate limit
 * window's edge.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { CapabilityName, Manifest, PermissionGrant } from "@vulpes/contract/capabilities";
import { describePlugin } from "@vulpes/contract/host";
import { PluginError } from "@vulpes/contract/protocol";
// Not "@vulpes/contract/testing": its mod.ts loads s3rver, and benches import this module too.
import {
  checkConformance,
  type ConformanceOptions,
  type ConformanceReport,
} from "../lib/testing/conformance.ts";

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

/** Fewer conformance checks than this means the check stopped part-way. */
const MIN_CONFORMANCE_CHECKS = 15;

/**
 * Put `binary` through `checkConformance` and fail, listing each failed check with what was
 * seen, unless every check passed and at least 15 ran.
 *
 * @param binary Path of the built plugin.
 * @param options A valid config and what else `checkConformance` takes.
 * @returns The report, for checks of the test's own.
 */
export async function assertConformant(
  binary: string,
  options: ConformanceOptions,
): Promise<ConformanceReport> {
  const report = await checkConformance(binary, options);
  const failed = report.checks.filter((check) => !check.ok);
  const listed = failed.map((check) =>
    `- ${check.name}${check.detail === undefined ? "" : `: ${check.detail}`}`
  );
  assert.deepEqual(
    failed,
    [],
    `${binary} failed ${failed.length} of ${report.checks.length} conformance checks:\n${
      listed.join("\n")
    }`,
  );
  assert.ok(
    report.checks.length >= MIN_CONFORMANCE_CHECKS,
    `${binary}: only ${report.checks.length} conformance checks ran, at least ${MIN_CONFORMANCE_CHECKS} expected`,
  );
  return report;
}

/** What {@linkcode assertDescribedPermissions} expects `--describe` to report. */
export interface DescribedPermissions {
  /** The capabilities, in the manifest's order. */
  capabilities: CapabilityName[];
  /**
   * The permissions held and their grant, e.g. `{ net: "all" }`. Every permission named neither
   * here nor in `scoped` must be `"none"`; without it, every permission must be.
   *
   * @default {{}}
   */
  granted?: Record<string, PermissionGrant>;
  /**
   * Permissions granted for named hosts or variables only: each must be `"partial"` or
   * `"none"` (Deno reports some such grants as `"none"`), never `"all"`.
   *
   * @default {[]}
   */
  scoped?: string[];
}

/**
 * Run `binary --describe` and fail unless its manifest lists exactly `expected.capabilities`,
 * grants each permission in `expected.granted` as given, each in `expected.scoped` as
 * `"partial"` or `"none"`, and every other permission `"none"`. The failure names each
 * permission that differs.
 *
 * @param binary Path of the built plugin.
 * @param expected The capabilities and the permissions it may hold.
 * @returns The manifest, for checks of the test's own.
 */
export async function assertDescribedPermissions(
  binary: string,
  expected: DescribedPermissions,
): Promise<Manifest> {
  const manifest = await describePlugin(binary);
  assert.deepEqual(
    manifest.capabilities,
    expected.capabilities,
    `${binary} --describe lists the capabilities ${JSON.stringify(manifest.capabilities)}, ` +
      `expected ${JSON.stringify(expected.capabilities)}`,
  );
  const granted: Record<string, PermissionGrant> = expected.granted ?? {};
  const scoped = expected.scoped ?? [];
  const names = new Set([...Object.keys(manifest.permissions), ...Object.keys(granted), ...scoped]);
  const wrong: string[] = [];
  for (const name of names) {
    const grant = manifest.permissions[name] ?? "missing";
    if (scoped.includes(name)) {
      if (grant !== "partial" && grant !== "none") {
        wrong.push(`${name} is "${grant}", expected "partial" or "none"`);
      }
    } else if (grant !== (granted[name] ?? "none")) {
      wrong.push(`${name} is "${grant}", expected "${granted[name] ?? "none"}"`);
    }
  }
  assert.deepEqual(
    wrong,
    [],
    `${binary} --describe reports unexpected permissions: ${wrong.join("; ")}`,
  );
  return manifest;
}

/**
 * Fail unless deno.json builds `plugin` without any `--allow-*` flag and `bin/<plugin>
 * --describe` lists exactly `capabilities` and every permission as `"none"`.
 *
 * @param plugin The plugin's name, e.g. `"cache-memory"`.
 * @param capabilities Its capabilities, in the manifest's order.
 */
export async function assertNoPermissions(
  plugin: string,
  capabilities: CapabilityName[],
): Promise<void> {
  const flags = declaredFlags(plugin);
  assert.ok(
    !flags.some((flag) => flag.startsWith("--allow-")),
    `deno.json builds ${plugin} with ${flags.join(" ")}: no --allow-* flag expected`,
  );
  await assertDescribedPermissions(pluginBinary(plugin), { capabilities });
}

/**
 * Await `starting`, a plugin being started with a bad config, and fail unless it is refused
 * with an `invalid_config` {@linkcode PluginError} whose issues name exactly `paths`, in any
 * order.
 *
 * @param starting The start, e.g. `PluginProcess.start({ …, config: bad })`.
 * @param paths The config paths the refusal must name, e.g. `["rules[0].window", "url"]`.
 * @returns The error, for checks of the test's own (its message, no secret in it).
 */
export async function assertConfigRefused(
  starting: Promise<unknown>,
  paths: string[],
): Promise<PluginError> {
  const error = await starting.then(() => undefined, (rejection: unknown) => rejection);
  assert.ok(
    error instanceof PluginError,
    error === undefined
      ? "the plugin started: it should have refused its config"
      : `expected a PluginError, got ${error}`,
  );
  assert.equal(
    error.type,
    "invalid_config",
    `the refusal is "${error.type}", not "invalid_config": ${error.message}`,
  );
  const named = (error.data.errors ?? []).map((issue) => issue.path).sort();
  assert.deepEqual(
    named,
    [...paths].sort(),
    `the refusal names ${JSON.stringify(named)}, expected ${JSON.stringify([...paths].sort())}`,
  );
  return error;
}

/**
 * Run `body` with a subject no earlier attempt used, and again (three times at most) when it
 * failed and the wall clock crossed an edge of a `windowMs` window meanwhile: for rate limiter
 * tests that must see one fixed window, while the plugin counts on this machine's real clock.
 *
 * @param windowMs The length of the limiter's window.
 * @param body The test; it fails by throwing.
 */
export async function inOneWindow(
  windowMs: number,
  body: (subject: string) => Promise<void>,
): Promise<void> {
  for (let attempt = 0;; attempt++) {
    const before = Math.floor(Date.now() / windowMs);
    try {
      await body(`user-${crypto.randomUUID()}`);
      return;
    } catch (error) {
      if (attempt >= 2 || Math.floor(Date.now() / windowMs) === before) throw error;
    }
  }
}
