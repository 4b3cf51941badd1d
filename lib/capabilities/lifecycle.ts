/**
 * The lifecycle methods every plugin answers: `initialize`, `health`, `shutdown`, and the
 * manifest printed by `--describe`.
 *
 * @module
 */

import * as z from "zod";

/** The seven capabilities, in pipeline order. */
export const CAPABILITIES = [
  "authenticator",
  "rate_limiter",
  "cache_provider",
  "prompt_provider",
  "router",
  "upstream_provider",
  "observer",
] as const;

/** One of {@linkcode CAPABILITIES}. */
export type CapabilityName = typeof CAPABILITIES[number];

/** Settings from the core that are not plugin config. */
export interface InitializeSettings {
  /** Whether observer events carry request and response bodies. */
  capture_payloads: boolean;
  /** The largest line the plugin should accept; the default is 16 MiB. */
  max_message_bytes?: number;
}

/** Params of `initialize`. */
export interface InitializeParams {
  /** The protocol version the core speaks: `"1"`. */
  protocol_version: string;
  /** The instance name from gateway.yaml (a plugin binary may run as several instances). */
  instance: string;
  /** The capabilities the core will use; a subset of the manifest's. */
  capabilities: CapabilityName[];
  /** The plugin's own config block, secrets resolved. */
  config: unknown;
  /** Core settings. */
  settings: InitializeSettings;
}

/** Result of `initialize`. */
export interface InitializeResult {
  /** The protocol version the plugin speaks. */
  protocol_version: string;
  /** The plugin's identity. */
  plugin: { name: string; version: string };
  /** The capabilities the plugin serves for this instance. */
  capabilities: CapabilityName[];
}

/** Result of `health`. */
export interface HealthResult {
  /** `ok`, `degraded` (serving, with trouble), or `unavailable`. */
  status: "ok" | "degraded" | "unavailable";
  /** Counters and explanations; never secrets. */
  detail?: Record<string, unknown>;
}

/** How much of one Deno permission a plugin binary holds. */
export type PermissionGrant = "all" | "partial" | "none";

/** The manifest printed by `<plugin> --describe`. */
export interface Manifest {
  /** The plugin's name, e.g. `authn-static-api-key`. */
  name: string;
  /** Its version. */
  version: string;
  /** One line on what it does. */
  description: string;
  /** The protocol version it speaks. */
  protocol_version: string;
  /** The capabilities it implements. */
  capabilities: CapabilityName[];
  /** JSON Schema of its config block. */
  config_schema: Record<string, unknown>;
  /** The permissions the running binary holds, read from the runtime itself. */
  permissions: Record<string, PermissionGrant>;
}

const capabilityName = z.enum(CAPABILITIES);

/** Schema of {@linkcode InitializeParams}. */
export const initializeParamsSchema: z.ZodType<InitializeParams> = z.object({
  protocol_version: z.string().min(1),
  instance: z.string().min(1),
  capabilities: z.array(capabilityName),
  config: z.unknown(),
  settings: z.object({
    capture_payloads: z.boolean(),
    max_message_bytes: z.number().int().min(1024).optional(),
  }),
}) as z.ZodType<InitializeParams>;

/** Schema of {@linkcode InitializeResult}. */
export const initializeResultSchema: z.ZodType<InitializeResult> = z.object({
  protocol_version: z.string(),
  plugin: z.object({ name: z.string().min(1), version: z.string().min(1) }),
  capabilities: z.array(capabilityName),
});

/** Schema of {@linkcode HealthResult}. */
export const healthResultSchema: z.ZodType<HealthResult> = z.object({
  status: z.enum(["ok", "degraded", "unavailable"]),
  detail: z.record(z.string(), z.unknown()).optional(),
}) as z.ZodType<HealthResult>;

/** Schema of {@linkcode Manifest}. */
export const manifestSchema: z.ZodType<Manifest> = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "expected a kebab-case name"),
  version: z.string().min(1),
  description: z.string(),
  protocol_version: z.string().min(1),
  capabilities: z.array(capabilityName).min(1),
  config_schema: z.record(z.string(), z.unknown()),
  permissions: z.record(z.string(), z.enum(["all", "partial", "none"])),
});
