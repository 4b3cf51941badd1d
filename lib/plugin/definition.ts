/**
 * What a plugin author writes: a definition with a name, capabilities, a config schema and a
 * `create` function that returns the handlers.
 *
 * @module
 */

import * as z from "zod";
import type { CapabilityHandlers } from "../capabilities/methods.ts";
import type { MaybePromise } from "../capabilities/common.ts";
import type { Logger } from "../capabilities/context.ts";
import { CAPABILITIES, type CapabilityName, type HealthResult } from "../capabilities/lifecycle.ts";
import { SECRET_KEYWORD } from "./_secrets.ts";

/** What `create` receives besides the config: everything with side effects, injectable. */
export interface PluginContext {
  /** The instance name from gateway.yaml. */
  instance: string;
  /** The plugin's logger (JSON lines on stderr, secrets redacted). */
  logger: Logger;
  /** Whether the core captures request and response bodies. */
  capturePayloads: boolean;
  /** The clock, in epoch milliseconds. */
  now: () => number;
  /** A random number in [0, 1). */
  random: () => number;
  /** The fetch to use for HTTP calls. */
  fetch: typeof fetch;
}

/** The running plugin: capability handlers plus optional lifecycle hooks. */
export interface PluginInstance extends CapabilityHandlers {
  /** Report health; the default is `{status: "ok"}`. */
  health?(): MaybePromise<HealthResult>;
  /** Write out buffered work (on `shutdown`, and best effort at end of input). */
  flush?(): Promise<void>;
  /** Release resources (pools, servers, timers) after the flush. */
  close?(): MaybePromise<void>;
}

/** A plugin definition; `mod.ts` exports one, `main.ts` passes it to `runPlugin`. */
export interface PluginDefinition<Config = unknown> {
  /** kebab-case name, the same as its folder and binary. */
  name: string;
  /** Its version. */
  version: string;
  /** One line on what it does. */
  description: string;
  /** The capabilities it implements. */
  capabilities: CapabilityName[];
  /** The config schema: strict (unknown keys refused), every field described. */
  config: z.ZodType<Config>;
  /** Build the handlers from a valid config; called once, at `initialize`. */
  create(config: Config, context: PluginContext): MaybePromise<PluginInstance>;
  /**
   * The scoped values its build grants (the `=…` lists of its `--allow-*` flags), so that
   * `--describe` can report such a grant as `"partial"`: Deno answers a bare permission query
   * with `partial: false` when only scoped values are granted. Values are paths (read, write,
   * ffi), hosts (net), variable names (env), commands (run) or kinds (sys). Loopback hosts and
   * every sys kind are checked without being listed.
   *
   * @default {{}}
   */
  permissionScopes?: Partial<Record<PermissionName, string[]>>;
}

/** A permission a plugin may be granted. */
export type PermissionName = "read" | "write" | "net" | "env" | "run" | "sys" | "ffi";

/**
 * Check a definition once, when it is built, and return it typed.
 *
 * @param definition The plugin definition.
 * @returns The same definition.
 * @throws {TypeError} A name that is not kebab-case, no capabilities, or an unknown one.
 *
 * @example Define a plugin that abstains on everything
 * ```ts
 * import assert from "node:assert/strict";
 * import * as z from "zod";
 * import { definePlugin } from "./definition.ts";
 *
 * const plugin = definePlugin({
 *   name: "authn-nobody",
 *   version: "1.0.0",
 *   description: "Abstains on every credential",
 *   capabilities: ["authenticator"],
 *   config: z.strictObject({}),
 *   create: () => ({ authenticator: { authenticate: () => ({ decision: "abstain" }) } }),
 * });
 * assert.equal(plugin.name, "authn-nobody");
 * ```
 */
export function definePlugin<Config>(
  definition: PluginDefinition<Config>,
): PluginDefinition<Config> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(definition.name)) {
    throw new TypeError(
      `Cannot define plugin "${definition.name}": the name must be kebab-case (a-z, 0-9, -)`,
    );
  }
  if (definition.capabilities.length === 0) {
    throw new TypeError(`Cannot define plugin "${definition.name}": it declares no capability`);
  }
  for (const capability of definition.capabilities) {
    if (!(CAPABILITIES as readonly string[]).includes(capability)) {
      throw new TypeError(
        `Cannot define plugin "${definition.name}": unknown capability "${capability}"; expected one of ${
          CAPABILITIES.join(", ")
        }`,
      );
    }
  }
  return definition;
}

/**
 * A config field that holds a secret: a non-empty string, marked in the JSON Schema
 * (`x-vulpes-secret`, `writeOnly`) so that its value is redacted from every log line and
 * error message. In gateway.yaml it is written as `${secret:NAME}`.
 *
 * @param description What the secret is, for the README table and `--describe`.
 * @returns The zod schema of the field.
 *
 * @example Declare an API key field
 * ```ts
 * import assert from "node:assert/strict";
 * import * as z from "zod";
 * import { secret } from "./definition.ts";
 *
 * const schema = z.strictObject({ api_key: secret("Key of the upstream") });
 * const json = z.toJSONSchema(schema) as { properties: Record<string, Record<string, unknown>> };
 * assert.equal(json.properties.api_key!["x-vulpes-secret"], true);
 * ```
 */
export function secret(description: string): z.ZodString {
  return z.string().min(1).meta({ [SECRET_KEYWORD]: true, writeOnly: true }).describe(description);
}
