/**
 * The manifest printed by `--describe`.
 *
 * @module
 */

import * as z from "zod";
import type { Manifest, PermissionGrant } from "../capabilities/lifecycle.ts";
import { PROTOCOL_VERSION } from "../protocol/mod.ts";
import type { PermissionName, PluginDefinition } from "./definition.ts";

const PERMISSION_NAMES = ["read", "write", "net", "env", "run", "sys", "ffi"] as const;

/**
 * Build the manifest of a plugin: its identity, capabilities, config JSON Schema and the
 * permissions this process actually holds (read from the runtime, so they match the flags
 * the binary was built with).
 *
 * @param definition The plugin definition.
 * @returns The manifest.
 *
 * @example Describe a plugin
 * ```ts
 * import assert from "node:assert/strict";
 * import * as z from "zod";
 * import { definePlugin } from "./definition.ts";
 * import { buildManifest } from "./manifest.ts";
 *
 * const manifest = buildManifest(definePlugin({
 *   name: "demo",
 *   version: "0.0.1",
 *   description: "Demo",
 *   capabilities: ["observer"],
 *   config: z.strictObject({}),
 *   create: () => ({ observer: { emit: () => {} } }),
 * }));
 * assert.equal(manifest.protocol_version, "1");
 * assert.equal(manifest.config_schema.type, "object");
 * ```
 */
export function buildManifest(definition: PluginDefinition<unknown>): Manifest {
  return {
    name: definition.name,
    version: definition.version,
    description: definition.description,
    protocol_version: PROTOCOL_VERSION,
    capabilities: [...definition.capabilities],
    config_schema: configJsonSchema(definition.config),
    permissions: grantedPermissions(definition.permissionScopes ?? {}),
  };
}

/**
 * The JSON Schema of a config schema, as inputs are written (fields with defaults optional).
 *
 * @param schema A zod schema.
 * @returns Its JSON Schema.
 *
 * @example The schema of a strict object
 * ```ts
 * import assert from "node:assert/strict";
 * import * as z from "zod";
 * import { configJsonSchema } from "./manifest.ts";
 *
 * const json = configJsonSchema(z.strictObject({ n: z.number().default(1) }));
 * assert.equal(json.additionalProperties, false);
 * ```
 */
export function configJsonSchema(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
}

/** Values checked for a scoped grant even when a definition lists none. */
const COMMON_SCOPES: Partial<Record<PermissionName, string[]>> = {
  net: ["127.0.0.1", "0.0.0.0", "localhost", "[::1]"],
  sys: [
    "hostname",
    "osRelease",
    "osUptime",
    "loadavg",
    "networkInterfaces",
    "systemMemoryInfo",
    "uid",
    "gid",
    "username",
    "cpus",
    "homedir",
    "statfs",
    "getPriority",
    "setPriority",
    "userInfo",
  ],
};

const SCOPE_KEY: Record<PermissionName, string> = {
  read: "path",
  write: "path",
  ffi: "path",
  net: "host",
  env: "variable",
  run: "command",
  sys: "kind",
};

function query(descriptor: Record<string, string>): Deno.PermissionStatus | undefined {
  try {
    return Deno.permissions.querySync(descriptor as unknown as Deno.PermissionDescriptor);
  } catch {
    return undefined; // a value this runtime does not know (e.g. a sys kind)
  }
}

function grantedPermissions(
  scopes: Partial<Record<PermissionName, string[]>>,
): Record<string, PermissionGrant> {
  const granted: Record<string, PermissionGrant> = {};
  for (const name of PERMISSION_NAMES) {
    const status = query({ name });
    if (status?.state === "granted") {
      granted[name] = "all";
      continue;
    }
    // Deno 2.9 reports partial: false for a bare query when only scoped values are granted,
    // so a scoped grant shows by querying the values themselves.
    const values = [...(scopes[name] ?? []), ...(COMMON_SCOPES[name] ?? [])];
    const scoped = values.some((value) =>
      query({ name, [SCOPE_KEY[name]]: value })?.state === "granted"
    );
    granted[name] = status?.partial || scoped ? "partial" : "none";
  }
  return granted;
}
